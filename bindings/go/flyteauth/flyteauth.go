//go:build cgo

// Package flyteauth is the Go binding of flyteauth, Flyte's client authentication as one
// native library (a Rust core behind a C ABI).
//
// Create an [Authenticator] once from configuration and share it between all goroutines. Ask
// it for the header metadata of each call to a Flyte backend ([Authenticator.Metadata]), and
// tell it when the server rejected a credential ([Authenticator.Invalidate]). Discovery, the
// OAuth2 flow, caching and refreshing tokens before they expire all happen inside the library:
//
//	auth, err := flyteauth.New(`{"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
//	    "clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"}`)
//	if err != nil {
//		return err
//	}
//	defer auth.Close()
//	md, err := auth.Metadata(ctx) // e.g. {"flyte-authorization": "Bearer eyJ..."}
//
// [NewFromConfig] takes the same configuration as a typed [Config], and [FromFlyteConfig]
// reads Flyte's config.yaml.
//
// With a valid token a call is one cgo call: [Authenticator.Headers] allocates nothing, and
// Metadata only the map it returns. Errors are [*Error] values whose [Code] works with
// errors.Is; blocking calls honour their context. Interactive logins (PKCE, device flow) show
// their prompts through [Authenticator.SetPrompt], or on stderr when no prompt function is set,
// unless [Authenticator.SetInteractive] forbids them.
//
// Adapters: [Transport] is an [http.RoundTripper] that adds the headers and recovers from a
// 401 once. The sub-package grpcauth has grpc-go per-RPC credentials and client interceptors,
// and oauth2auth has an oauth2.TokenSource view; this package itself depends on the standard
// library only.
//
// Linking: a release of this module carries the library prebuilt for linux/amd64,
// linux/arm64, darwin/amd64, darwin/arm64 and windows/amd64 (build/<goos>-<goarch>), linked
// statically with every system library it needs (link_prebuilt.go): `go build` needs no Rust,
// no pkg-config and no loader path. With the build tag flyteauth_system the package links an
// installed library through pkg-config instead (link_system.go). Without cgo
// (CGO_ENABLED=0) it compiles, and New, NewFromConfig and FromFlyteConfig return an error
// matching [ErrUnsupported] (nocgo.go). See README.md.
package flyteauth

/*
#include <stdint.h>
#include <stdlib.h>
#include "flyteauth.h"

// fa_current is the hot path in one cgo call. It returns `cached` when that snapshot (which
// the caller holds a reference to, so its address cannot have been reused) is still the
// authenticator's current, fresh one: no reference count is touched. Otherwise it returns
// what try_fetch_metadata gives: NULL when there is no usable snapshot (the caller must then
// block in flyteauth_authenticator_fetch_metadata_ex); `cached` again (the reference just
// taken is released) when the cached snapshot is still usable, e.g. in its refresh window;
// else a new reference owned by the caller.
static flyteauth_metadata *fa_current(flyteauth_authenticator *a, flyteauth_metadata *cached) {
	if (cached != NULL && flyteauth_authenticator_metadata_is_current(a, cached)) {
		return cached;
	}
	flyteauth_metadata *m = NULL;
	if (!flyteauth_authenticator_try_fetch_metadata(a, &m)) {
		return NULL;
	}
	if (m == cached) {
		flyteauth_metadata_free(m);
	}
	return m;
}

// The Go side of login prompts (prompt.go): user_data is a runtime/cgo.Handle.
extern void flyteauthGoPrompt(uintptr_t h, int kind, char *url, char *user_code);
extern void flyteauthGoRelease(uintptr_t h);

static void fa_prompt(void *user_data, flyteauth_prompt_kind kind, const char *url, const char *user_code) {
	flyteauthGoPrompt((uintptr_t)user_data, (int)kind, (char *)url, (char *)user_code);
}

static void fa_release(void *user_data) {
	flyteauthGoRelease((uintptr_t)user_data);
}

// The Go side of the library's log (log.go): user_data is a runtime/cgo.Handle of a *slog.Logger.
extern void flyteauthGoLog(uintptr_t h, int level, char *target, char *message);
extern void flyteauthGoLogRelease(uintptr_t h);

static void fa_log(void *user_data, flyteauth_log_level level, const char *target, const char *message) {
	flyteauthGoLog((uintptr_t)user_data, (int)level, (char *)target, (char *)message);
}

static void fa_log_release(void *user_data) {
	flyteauthGoLogRelease((uintptr_t)user_data);
}

// fa_set_log installs the logger behind handle h for records at min_level and above, or
// removes it (h == 0).
static flyteauth_status fa_set_log(uintptr_t h, int min_level) {
	if (h == 0) {
		return flyteauth_set_log_callback(NULL, NULL, NULL, 0);
	}
	return flyteauth_set_log_callback(fa_log, (void *)h, fa_log_release, min_level);
}

// fa_set_prompt installs the prompt function behind handle h, or removes it (h == 0).
static flyteauth_status fa_set_prompt(flyteauth_authenticator *a, uintptr_t h, flyteauth_error **err) {
	if (h == 0) {
		return flyteauth_authenticator_set_prompt_callback(a, NULL, NULL, NULL, err);
	}
	return flyteauth_authenticator_set_prompt_callback(a, fa_prompt, (void *)h, fa_release, err);
}
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version returns the version of the flyteauth library the program is linked with, e.g.
// "0.1.0".
func Version() string {
	return C.GoString(C.flyteauth_version())
}

// An Authenticator turns configuration into the header metadata for calls to a Flyte backend.
//
// All methods are safe for concurrent use, and one Authenticator is meant to be shared by
// every goroutine of a program: all of them then share one token cache and one refresh.
// Close releases the native resources; an Authenticator that becomes unreachable without
// Close is released by a cleanup, but call Close (or defer it) anyway. Create one with
// [New] or [FromFlyteConfig]: the zero Authenticator behaves as a closed one.
type Authenticator struct {
	h       *handle
	cleanup runtime.Cleanup
}

// handle is the state the cleanup backstop needs: it must not point back to the
// Authenticator, or the Authenticator would never become unreachable.
type handle struct {
	// mu is held shared by blocking calls for their whole duration and exclusively by
	// close, which therefore waits for them (after cancelling them through closeCtx).
	mu sync.RWMutex
	// hot is held shared by the non-blocking path and exclusively to replace cache or to
	// close. Lock order: mu before hot; nobody holding hot waits for mu.
	hot sync.RWMutex
	// ptr is the native authenticator; nil once closed. Written with both locks held, so
	// either lock is enough to read it.
	ptr *C.flyteauth_authenticator
	// cache is the last snapshot seen, with its strings already copied to Go. It holds one
	// reference to the native snapshot, so the pointer stays unique while it is cached.
	cache *snapshot
	// closeCtx is cancelled by close, which cancels the blocking calls in flight.
	closeCtx    context.Context
	cancelClose context.CancelFunc
	// insecure is the resolved "insecure" setting (see Insecure).
	insecure bool
}

// snapshot is an immutable copy of a native metadata snapshot.
type snapshot struct {
	ptr    *C.flyteauth_metadata // the cache's reference; nil when not cached
	keys   []string
	values []string
	// expiresAtMs is when the token expires, in ms since the Unix epoch; 0 when unknown.
	expiresAtMs int64
	// shared is the read-only map handed to gRPC (Headers.SharedMap), built on first use.
	shared atomic.Pointer[map[string]string]
}

// New creates an Authenticator from a JSON object with the `admin:` keys of Flyte's
// config.yaml, plus an optional inline "clientSecret", e.g.
//
//	{"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
//	 "clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"}
//
// New does no network I/O: discovery and the first token happen on the first Metadata. The
// configuration is checked completely here: an unknown key, a value of the wrong type or a
// missing required value is an error matching [ErrConfig] whose message names the key (and
// never contains a secret).
func New(configJSON string) (*Authenticator, error) {
	if strings.IndexByte(configJSON, 0) >= 0 {
		return nil, newError(ErrInvalidArgument, "invalid argument: argument `config_json` contains a NUL byte")
	}
	cjson := C.CString(configJSON)
	defer C.free(unsafe.Pointer(cjson))
	var out *C.flyteauth_authenticator
	var cerr *C.flyteauth_error
	if st := C.flyteauth_authenticator_new(cjson, &out, &cerr); st != C.FLYTEAUTH_OK {
		return nil, errorFromC(st, cerr)
	}
	return wrap(out), nil
}

// FromFlyteConfig creates an Authenticator from the `admin:` section of Flyte's config.yaml
// at path and the FLYTE_* environment overrides, which win over the file as in flytekit. An
// empty path means flytekit's lookup: $FLYTECTL_CONFIG (skipped with a warning when it names
// no file), ./flytekit.config, ~/.flyte/config (INI), ~/.flyte/config.yaml, else no file
// (environment only). Errors are as for [New].
func FromFlyteConfig(path string) (*Authenticator, error) {
	var cpath *C.char
	if path != "" {
		if strings.IndexByte(path, 0) >= 0 {
			return nil, newError(ErrInvalidArgument, "invalid argument: argument `path` contains a NUL byte")
		}
		cpath = C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	var out *C.flyteauth_authenticator
	var cerr *C.flyteauth_error
	if st := C.flyteauth_authenticator_from_flyte_config(cpath, &out, &cerr); st != C.FLYTEAUTH_OK {
		return nil, errorFromC(st, cerr)
	}
	return wrap(out), nil
}

func wrap(p *C.flyteauth_authenticator) *Authenticator {
	h := &handle{ptr: p, insecure: C.flyteauth_authenticator_insecure(p) != 0}
	h.closeCtx, h.cancelClose = context.WithCancel(context.Background())
	a := &Authenticator{h: h}
	a.cleanup = runtime.AddCleanup(a, (*handle).collected, h)
	return a
}

// Insecure reports whether the Authenticator talks plain HTTP/gRPC to its endpoint (no TLS):
// the "insecure" setting as the library resolved it, after the config file and the FLYTE_*
// overrides. The grpcauth adapter uses it for RequireTransportSecurity.
func (a *Authenticator) Insecure() bool {
	return a.h != nil && a.h.insecure
}

// Metadata returns the headers for one call: the auth header (its key comes from
// "authorizationHeader", else from the server's public client config, e.g.
// "flyte-authorization"; its value is "Bearer <token>"), plus "proxy-authorization" when a
// proxy command is configured. Keys are lowercase. The values are credentials: do not log
// them. The map is the caller's to keep or modify.
//
// With a valid token Metadata returns at once without touching the network, whatever the
// state of ctx. Otherwise it waits while the token is obtained or refreshed (concurrent
// callers share one request to the identity provider), until ctx is done: then it returns
// an error matching ctx.Err(): context.Canceled and [ErrCancelled], or
// context.DeadlineExceeded and [ErrTimeout]. A refresh already started keeps running for
// the other callers.
//
// The map costs two allocations per call; [Authenticator.Headers] is the allocation-free
// form.
func (a *Authenticator) Metadata(ctx context.Context) (map[string]string, error) {
	h, err := a.Headers(ctx)
	if err != nil {
		return nil, err
	}
	return h.Map(), nil
}

// snapshot returns the current headers: the cached copy when the library's fresh snapshot is
// the cached one (one cgo call, no allocation), else a new copy.
//
// Like every method that uses the native handle, it keeps a alive until it returns
// (deferred runtime.KeepAlive): otherwise the cleanup backstop could run, and close the
// handle, while a C call on it is still running.
func (a *Authenticator) snapshot(ctx context.Context) (*snapshot, error) {
	defer runtime.KeepAlive(a)
	h := a.h
	if h == nil {
		return nil, closedError()
	}
	h.hot.RLock()
	if h.ptr == nil {
		h.hot.RUnlock()
		return nil, closedError()
	}
	cached := h.cache
	var cachedPtr *C.flyteauth_metadata
	if cached != nil {
		cachedPtr = cached.ptr
	}
	debugGC()
	m := C.fa_current(h.ptr, cachedPtr)
	h.hot.RUnlock()
	switch {
	case m == nil:
		return a.fetch(ctx)
	case m == cachedPtr:
		return cached, nil
	default:
		return h.adopt(m), nil
	}
}

// fetch is the blocking path of snapshot.
func (a *Authenticator) fetch(ctx context.Context) (*snapshot, error) {
	defer runtime.KeepAlive(a)
	h := a.h
	var m *C.flyteauth_metadata
	err := h.blocking(ctx, func(p *C.flyteauth_authenticator, ms C.uint64_t, c *C.flyteauth_cancel, e **C.flyteauth_error) C.flyteauth_status {
		return C.flyteauth_authenticator_fetch_metadata_ex(p, ms, c, &m, e)
	})
	if err != nil {
		return nil, err
	}
	return h.adopt(m), nil
}

// adopt takes ownership of the native snapshot m: it returns the cached copy if m is the
// cached snapshot, else copies m and caches the copy (keeping m's reference for the cache).
func (h *handle) adopt(m *C.flyteauth_metadata) *snapshot {
	// Both m (ours) and the cached snapshot (the cache's) are alive here, so equal
	// pointers mean the same snapshot.
	h.hot.RLock()
	c := h.cache
	h.hot.RUnlock()
	if c != nil && c.ptr == m {
		C.flyteauth_metadata_free(m)
		return c
	}
	n := int(C.flyteauth_metadata_len(m))
	s := &snapshot{ptr: m, keys: make([]string, n), values: make([]string, n),
		expiresAtMs: int64(C.flyteauth_metadata_expires_at_ms(m))}
	for i := range n {
		s.keys[i] = C.GoString(C.flyteauth_metadata_key(m, C.size_t(i)))
		s.values[i] = C.GoString(C.flyteauth_metadata_value(m, C.size_t(i)))
	}
	h.hot.Lock()
	if h.ptr == nil { // closed meanwhile: the copy is still valid, but not cached
		h.hot.Unlock()
		C.flyteauth_metadata_free(m)
		s.ptr = nil
		return s
	}
	if c := h.cache; c != nil && c.ptr == m { // another goroutine cached it first
		h.hot.Unlock()
		C.flyteauth_metadata_free(m)
		return c
	}
	old := h.cache
	h.cache = s
	h.hot.Unlock()
	// No reader can still be using old.ptr: readers load h.cache under hot.RLock.
	if old != nil {
		C.flyteauth_metadata_free(old.ptr)
	}
	return s
}

// Refresh gets new credentials now, e.g. after the server answered UNAUTHENTICATED or 401.
// Concurrent callers share one refresh. Prefer [Authenticator.Invalidate], which does
// nothing when someone has already refreshed. ctx is honoured as in Metadata.
func (a *Authenticator) Refresh(ctx context.Context) error {
	defer runtime.KeepAlive(a)
	if a.h == nil {
		return closedError()
	}
	return a.h.blocking(ctx, func(p *C.flyteauth_authenticator, ms C.uint64_t, c *C.flyteauth_cancel, e **C.flyteauth_error) C.flyteauth_status {
		return C.flyteauth_authenticator_refresh_ex(p, ms, c, e)
	})
}

// Invalidate is the form of Refresh for interceptors: rejectedValue is the header value the
// server rejected (a value from Metadata). It refreshes only if that value is still
// current; otherwise another caller already refreshed and Invalidate returns nil at once.
// So a burst of rejections of one token costs one refresh. ctx is honoured as in Metadata.
func (a *Authenticator) Invalidate(ctx context.Context, rejectedValue string) error {
	if strings.IndexByte(rejectedValue, 0) >= 0 {
		// No header value contains a NUL byte, so this one is not current.
		return nil
	}
	defer runtime.KeepAlive(a)
	if a.h == nil {
		return closedError()
	}
	cvalue := C.CString(rejectedValue)
	defer C.free(unsafe.Pointer(cvalue))
	return a.h.blocking(ctx, func(p *C.flyteauth_authenticator, ms C.uint64_t, c *C.flyteauth_cancel, e **C.flyteauth_error) C.flyteauth_status {
		return C.flyteauth_authenticator_invalidate_ex(p, cvalue, ms, c, e)
	})
}

// Close releases the Authenticator. Blocking calls in flight return an error matching
// [ErrClosed] promptly, and Close waits for them; later calls return such an error too.
// Metadata already returned stays valid. Close is idempotent and always returns nil.
func (a *Authenticator) Close() error {
	if a.h == nil {
		return nil
	}
	a.cleanup.Stop()
	a.h.close()
	runtime.KeepAlive(a)
	return nil
}

// collected is the cleanup backstop for an Authenticator that became unreachable unclosed.
func (h *handle) collected() {
	if debug && (!h.mu.TryLock() || !h.hot.TryLock()) {
		// Unreachable while a method was running: a runtime.KeepAlive is missing.
		panic("flyteauth: an Authenticator was garbage-collected during a call (missing runtime.KeepAlive)")
	}
	if debug {
		h.hot.Unlock()
		h.mu.Unlock()
	}
	collectedCount.Add(1)
	h.close()
}

func (h *handle) close() {
	h.cancelClose()
	h.mu.Lock()
	h.hot.Lock()
	p, c := h.ptr, h.cache
	h.ptr, h.cache = nil, nil
	h.hot.Unlock()
	h.mu.Unlock()
	if c != nil {
		C.flyteauth_metadata_free(c.ptr)
	}
	if p != nil {
		C.flyteauth_authenticator_free(p)
	}
}

// setLogHandle installs the logger behind cgo handle lh for records at minLevel (a
// flyteauth_log_level) and above, or removes it (lh == 0); see log.go.
func setLogHandle(lh uintptr, minLevel int) error {
	if st := C.fa_set_log(C.uintptr_t(lh), C.int(minLevel)); st != C.FLYTEAUTH_OK {
		return errorFromC(st, nil)
	}
	return nil
}

// setPrompt installs the prompt function behind cgo handle fh (0: none); the caller holds mu
// (shared).
func (h *handle) setPrompt(fh uintptr) error {
	var cerr *C.flyteauth_error
	if st := C.fa_set_prompt(h.ptr, C.uintptr_t(fh), &cerr); st != C.FLYTEAUTH_OK {
		return errorFromC(st, cerr)
	}
	return nil
}

// SetInteractive allows or forbids asking a person to log in (PKCE, device flow),
// overriding the "interactive" configuration key. A program that must never block on a
// person forbids it: then a needed login is an error matching [ErrLoginRequired] instead of
// a prompt.
func (a *Authenticator) SetInteractive(interactive bool) error {
	defer runtime.KeepAlive(a)
	h := a.h
	if h == nil {
		return closedError()
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return closedError()
	}
	var flag C.int
	if interactive {
		flag = 1
	}
	var cerr *C.flyteauth_error
	if st := C.flyteauth_authenticator_set_interactive(h.ptr, flag, &cerr); st != C.FLYTEAUTH_OK {
		return errorFromC(st, cerr)
	}
	return nil
}

// Logout forgets the login in memory and in the keyring, and revokes the refresh token at
// the identity provider (RFC 7009) when its metadata advertises a revocation endpoint. The
// next call that needs a token logs in again, or fails with [ErrLoginRequired] when not
// interactive. A failed revocation is a warning (see [SetLogger]), never an error; it waits
// at most about 10 s per refresh token. Metadata already returned stays readable but is no
// longer current.
func (a *Authenticator) Logout() error {
	defer runtime.KeepAlive(a)
	h := a.h
	if h == nil {
		return closedError()
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return closedError()
	}
	var cerr *C.flyteauth_error
	if st := C.flyteauth_authenticator_logout(h.ptr, &cerr); st != C.FLYTEAUTH_OK {
		return errorFromC(st, cerr)
	}
	return nil
}

// blockingCall is one of the library's *_ex calls, with the authenticator, the time bound in
// milliseconds (0: none), the cancel signal and the error out-parameter filled in.
type blockingCall func(a *C.flyteauth_authenticator, timeoutMS C.uint64_t, cancel *C.flyteauth_cancel, err **C.flyteauth_error) C.flyteauth_status

// blocking runs call bounded by ctx's deadline and cancelled when ctx is done or the
// Authenticator is closed.
func (h *handle) blocking(ctx context.Context, call blockingCall) error {
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	var timeoutMS C.uint64_t
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		left := time.Until(deadline)
		if left <= 0 {
			return contextError(context.DeadlineExceeded)
		}
		// Round up, so the library gives up no earlier than ctx.
		timeoutMS = C.uint64_t((left + time.Millisecond - 1) / time.Millisecond)
	}

	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return closedError()
	}
	cancel := C.flyteauth_cancel_new()
	var pending sync.WaitGroup // cancel callbacks that may still run
	pending.Add(2)
	fire := func() {
		defer pending.Done()
		C.flyteauth_cancel_cancel(cancel)
	}
	stopCtx := context.AfterFunc(ctx, fire)
	stopClose := context.AfterFunc(h.closeCtx, fire)

	var cerr *C.flyteauth_error
	debugGC()
	st := call(h.ptr, timeoutMS, cancel, &cerr)

	if stopCtx() {
		pending.Done()
	}
	if stopClose() {
		pending.Done()
	}
	pending.Wait()
	C.flyteauth_cancel_free(cancel)
	if st == C.FLYTEAUTH_OK {
		return nil
	}
	err := errorFromC(st, cerr)
	if err.Code == ErrCancelled || err.Code == ErrTimeout {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || hasDeadline && !time.Now().Before(deadline):
			// Whichever noticed the deadline first (ctx, cancelling the call, or the
			// library's own bound), the caller sees the same error.
			return contextError(context.DeadlineExceeded)
		case ctx.Err() != nil:
			err.cause = ctx.Err()
		case h.closeCtx.Err() != nil:
			err.cause = ErrClosed
		}
	}
	return err
}

// errorFromC converts and releases a native error.
func errorFromC(st C.flyteauth_status, e *C.flyteauth_error) *Error {
	err := &Error{Code: Code(st)}
	if e != nil {
		err.Code = Code(C.flyteauth_error_code(e))
		err.Message = C.GoString(C.flyteauth_error_message(e))
		err.HTTPStatus = int(C.flyteauth_error_http_status(e))
		if s := C.flyteauth_error_oauth_error(e); s != nil {
			err.OAuthError = C.GoString(s)
		}
		if s := C.flyteauth_error_oauth_error_description(e); s != nil {
			err.OAuthErrorDescription = C.GoString(s)
		}
		C.flyteauth_error_free(e)
	}
	if err.Message == "" {
		err.Message = err.Code.String()
	}
	return err
}

// statusString is the library's name for a status code.
func statusString(c Code) string {
	return C.GoString(C.flyteauth_status_str(C.int(c)))
}
