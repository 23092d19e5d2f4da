//go:build cgo

package flyteauth_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

// commandConfig authenticates with `echo <token>` (no network, a token that never expires).
const commandConfig = `{"authType": "ExternalCommand", "command": ["echo", "tok"], "authorizationHeader": "authorization"}`

func mustNew(t testing.TB, config string) *flyteauth.Authenticator {
	t.Helper()
	a, err := flyteauth.New(config)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func mustMetadata(t testing.TB, a *flyteauth.Authenticator) map[string]string {
	t.Helper()
	md, err := a.Metadata(context.Background())
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	return md
}

// authValue is the value of the fixture's auth header in md.
func authValue(t testing.TB, md map[string]string) string {
	t.Helper()
	v, ok := md[idptest.AuthKey]
	if !ok || !strings.HasPrefix(v, "Bearer ") || len(v) < len("Bearer ")+16 {
		t.Fatalf("want a %q header with a bearer token, got keys %v (%s)", idptest.AuthKey, keys(md), idptest.Redact(v))
	}
	return v
}

func keys(md map[string]string) []string {
	var ks []string
	for k := range md {
		ks = append(ks, k)
	}
	return ks
}

func TestVersionAndCodeNames(t *testing.T) {
	if v := flyteauth.Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Errorf("Version() = %q, want x.y.z", v)
	}
	for c := flyteauth.Code(0); c <= flyteauth.Code(flyteauth.NumCodes); c++ {
		if got, want := c.String(), flyteauth.StatusString(c); got != want {
			t.Errorf("Code(%d).String() = %q, the library says %q", int(c), got, want)
		}
	}
}

func TestClientCredentialsViaDiscovery(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.ClientCredentials(idptest.ClientSecret))
	md := mustMetadata(t, a)
	v := authValue(t, md)
	if len(md) != 1 {
		t.Errorf("want only the auth header, got keys %v", keys(md))
	}
	// The next calls are served from the cache: same value, no new token request.
	for range 100 {
		if got := mustMetadata(t, a)[idptest.AuthKey]; got != v {
			t.Fatalf("the header changed without a refresh: %s", idptest.Redact(got))
		}
	}
	st := idp.Stats(t)
	if st.ClientCredentials() != 1 || st.ClientConfigRequests != 1 {
		t.Errorf("want 1 token request and 1 client config request, got %d and %d", st.ClientCredentials(), st.ClientConfigRequests)
	}
	if a.Insecure() != true {
		t.Errorf("Insecure() = false for an insecure config")
	}
}

func TestMetadataMapBelongsToTheCaller(t *testing.T) {
	a := mustNew(t, commandConfig)
	md := mustMetadata(t, a)
	md["authorization"] = "changed"
	md["extra"] = "x"
	if got := mustMetadata(t, a); len(got) != 1 || got["authorization"] != "Bearer tok" {
		t.Errorf("a caller's change to the map leaked into the next call: keys %v", keys(got))
	}
}

func TestWrongSecret(t *testing.T) {
	idp := idptest.Start(t)
	const secret = "wrong-secret-2c9a71"
	a := mustNew(t, idp.ClientCredentials(secret))
	_, err := a.Metadata(context.Background())
	if err == nil {
		t.Fatal("Metadata with a wrong secret succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("the error message contains the client secret")
	}
	if !errors.Is(err, flyteauth.ErrAuthentication) {
		t.Errorf("errors.Is(err, ErrAuthentication) = false: %v", err)
	}
	var fe *flyteauth.Error
	if !errors.As(err, &fe) {
		t.Fatalf("not a *flyteauth.Error: %T %v", err, err)
	}
	if fe.Code != flyteauth.ErrAuthentication || fe.HTTPStatus != 401 || fe.OAuthError != "invalid_client" {
		t.Errorf("got code %v, HTTP %d, OAuth error %q; want authentication error, 401, invalid_client", fe.Code, fe.HTTPStatus, fe.OAuthError)
	}
	if !strings.HasPrefix(err.Error(), "flyteauth: authentication error: ") {
		t.Errorf("message: %v", err)
	}
	if errors.Is(err, flyteauth.ErrNetwork) || errors.Is(err, context.Canceled) {
		t.Errorf("the error matches another code or a context error: %v", err)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{"authType": "ClientSecret", "clientIdd": "x"}`, "clientIdd"},
		{`{"endpoint": "x.io", "insecure": "yes"}`, "insecure"},
		{`not json`, "JSON"},
	} {
		_, err := flyteauth.New(tc.config)
		if !errors.Is(err, flyteauth.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v; want a configuration error naming %q", tc.config, err, tc.want)
		}
	}
	if _, err := flyteauth.New("{}\x00"); !errors.Is(err, flyteauth.ErrInvalidArgument) {
		t.Errorf("New with a NUL byte = %v; want ErrInvalidArgument", err)
	}
	if _, err := flyteauth.FromFlyteConfig(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, flyteauth.ErrConfig) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("FromFlyteConfig(missing file) = %v; want a configuration error naming the file", err)
	}
}

func TestFromFlyteConfig(t *testing.T) {
	idp := idptest.Start(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(idptest.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yaml")
	yaml := "admin:\n  endpoint: dns:///" + idp.Endpoint + "\n  insecure: true\n  authType: ClientSecret\n" +
		"  clientId: " + idptest.ClientID + "\n  clientSecretLocation: " + secretFile + "\nlogger:\n  level: 5\n"
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := flyteauth.FromFlyteConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	authValue(t, mustMetadata(t, a))
	// The resolved setting, from the library: the file says insecure, and so does a
	// FLYTE_PLATFORM_INSECURE override of a file that does not.
	if !a.Insecure() {
		t.Error("Insecure() = false for a config file with insecure: true")
	}
	secure := filepath.Join(dir, "secure.yaml")
	if err := os.WriteFile(secure, []byte(strings.Replace(yaml, "insecure: true", "insecure: false", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLYTE_PLATFORM_INSECURE", "true")
	b, err := flyteauth.FromFlyteConfig(secure)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Insecure() {
		t.Error("Insecure() = false with FLYTE_PLATFORM_INSECURE=true")
	}
}

// Headers.Expiry is the library's: the fixture's JWTs live 300 s; a command token has none.
func TestHeadersExpiry(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.Config(nil))
	h, err := a.Headers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := h.Expiry()
	if left := time.Until(exp); !ok || left <= 0 || left > 301*time.Second {
		t.Errorf("Expiry() = %v, %v (in %v); want about 300 s from now", exp, ok, left)
	}
	c := mustNew(t, commandConfig)
	h, err = c.Headers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if exp, ok := h.Expiry(); ok {
		t.Errorf("Expiry() of a command token = %v; want unknown", exp)
	}
	if _, ok := (flyteauth.Headers{}).Expiry(); ok {
		t.Error("the zero Headers has an expiry")
	}
}

func TestExternalCommand(t *testing.T) {
	a := mustNew(t, commandConfig)
	md := mustMetadata(t, a)
	if len(md) != 1 || md["authorization"] != "Bearer tok" {
		t.Errorf("want {authorization: Bearer tok}, got keys %v", keys(md))
	}

	failing := mustNew(t, `{"authType": "ExternalCommand", "command": ["sh", "-c", "echo secret-on-stdout; exit 3"], "authorizationHeader": "authorization"}`)
	_, err := failing.Metadata(context.Background())
	if !errors.Is(err, flyteauth.ErrCommand) || !strings.Contains(err.Error(), "exit status 3") || strings.Contains(err.Error(), "secret-on-stdout") {
		t.Errorf("a failing command: want a command error with its exit status and without its stdout, got %v", err)
	}
}

func TestProxyCommand(t *testing.T) {
	idp := idptest.Start(t, "IDP_REQUIRE_PROXY_AUTH=Bearer x")
	a := mustNew(t, idp.Config(map[string]any{"proxyCommand": []string{"echo", "x"}}))
	md := mustMetadata(t, a)
	authValue(t, md)
	if md["proxy-authorization"] != "Bearer x" || len(md) != 2 {
		t.Errorf("want the auth header and proxy-authorization: Bearer x, got keys %v", keys(md))
	}
	st := idp.Stats(t)
	if st.ProxyAuthRejections != 0 || st.ProxyAuthorization["Bearer x"] == 0 {
		t.Errorf("the IdP saw %d requests without the proxy header (%d with it)", st.ProxyAuthRejections, st.ProxyAuthorization["Bearer x"])
	}
}

func TestRefreshAndInvalidate(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.ClientCredentials(idptest.ClientSecret))
	ctx := context.Background()
	first := authValue(t, mustMetadata(t, a))

	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	second := authValue(t, mustMetadata(t, a))
	if second == first {
		t.Fatal("Refresh did not change the token")
	}
	if n := idp.Stats(t).ClientCredentials(); n != 2 {
		t.Fatalf("want 2 token requests after one Refresh, got %d", n)
	}

	// The first token is no longer current: invalidating it costs nothing.
	if err := a.Invalidate(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got := mustMetadata(t, a)[idptest.AuthKey]; got != second {
		t.Error("Invalidate of a stale value changed the token")
	}
	if n := idp.Stats(t).ClientCredentials(); n != 2 {
		t.Fatalf("Invalidate of a stale value made a token request (%d in all)", n)
	}

	// A burst of rejections of the current token costs one refresh.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Invalidate(ctx, second); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := mustMetadata(t, a)[idptest.AuthKey]; got == second {
		t.Error("Invalidate of the current value did not change the token")
	}
	if n := idp.Stats(t).ClientCredentials(); n != 3 {
		t.Errorf("16 concurrent Invalidate calls of one value: want 1 token request, got %d", n-2)
	}

	// Logout forgets the token: the next Metadata is a new token, from one more request.
	third := authValue(t, mustMetadata(t, a))
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	if got := authValue(t, mustMetadata(t, a)); got == third {
		t.Error("Metadata after Logout returned the token from before it")
	}
	if n := idp.Stats(t).ClientCredentials(); n != 4 {
		t.Errorf("Metadata after Logout: want 1 more token request, got %d", n-3)
	}

	// A value with a NUL byte cannot be current.
	if err := a.Invalidate(ctx, "Bearer \x00"); err != nil {
		t.Errorf("Invalidate with a NUL byte: %v", err)
	}
}

// The fixture's token lifetime for TestTokenExpiryUnderConcurrency (IDP_ACCESS_TOKEN_TTL).
// 12 s, as in the Rust suites (tests/storm.rs): below 20 s the library's refresh lead is half
// the lifetime, jittered to 75-100 %, so a token is refreshed 5.5-7.5 s after it arrived, at
// least 4 s before it expires. A 2-second token left about 0.75 s, which a busy, shared CI
// machine can eat.
const expiryTTL = 12 * time.Second

// refreshLead is the library's refresh rule without tokenRefreshWindow (refresh_lead in
// src/authenticator.rs): 10 % of the lifetime, at least 10 s, never more than half of it.
func refreshLead(lifetime time.Duration) time.Duration {
	return min(max(lifetime/10, 10*time.Second), lifetime/2)
}

// refreshRequestBounds are the token requests an Authenticator that refreshes in the
// background may make during window (from before its first call to the moment the fixture's
// counters are read) with tokens of ttl, by the library's refresh rule; the same derivation
// as refresh_request_bounds in tests/common/mod.rs. A token's lifetime runs from when it
// arrived and is at most what the JWT's whole-second exp leaves: between ttl less a second
// and ttl.
//
//   - most: the first request, one per shortest gap (the shortest lifetime less its whole
//     lead), and one whole refresh of slack (a slow request shortens the next lifetime).
//   - least: the first request and one per longest gap (ttl less 75 % of its lead), less one
//     whole refresh of slack (a timer or a request delayed by a busy machine).
//
// Neither depends on the number of calling goroutines: a refresh per goroutine, or per
// call, is far above most.
func refreshRequestBounds(ttl, window time.Duration) (least, most int) {
	shortestLifetime := ttl - time.Second
	shortestGap := shortestLifetime - refreshLead(shortestLifetime)
	longestGap := ttl - refreshLead(ttl)*3/4
	gaps := func(gap time.Duration) int { return int(window / gap) }
	most = 1 + gaps(shortestGap) + 1
	least = max(1+gaps(longestGap)-1, 1)
	return least, most
}

func TestRefreshRequestBounds(t *testing.T) {
	// The figures of tests/storm.rs: 12-second tokens are refreshed every 5.5-7.5 s.
	for _, c := range []struct {
		window      time.Duration
		least, most int
	}{
		{0, 1, 2},
		{5 * time.Second, 1, 2},
		{24 * time.Second, 3, 6},
		{28500 * time.Millisecond, 3, 7},
	} {
		if least, most := refreshRequestBounds(expiryTTL, c.window); least != c.least || most != c.most {
			t.Errorf("refreshRequestBounds(12 s, %v) = %d..%d; want %d..%d", c.window, least, most, c.least, c.most)
		}
	}
	if got := refreshLead(time.Hour); got != 6*time.Minute {
		t.Errorf("refreshLead(1 h) = %v; want 10 %%", got)
	}
	if got := refreshLead(time.Minute); got != 10*time.Second {
		t.Errorf("refreshLead(1 min) = %v; want at least 10 s", got)
	}
}

// 12-second tokens expiring under 32 goroutines: one token request per refresh, however
// many goroutines ask, and no call ever fails or waits for the identity provider. Margins
// are seconds, so that a shared, noisy machine cannot break them.
func TestTokenExpiryUnderConcurrency(t *testing.T) {
	// Two whole lifetimes and the slack below: the header must change at least twice.
	const runFor = 28 * time.Second
	// For the first call (discovery and the first token) and for a busy machine that
	// delays the last calls: a third of a lifetime.
	const slack = 4 * time.Second
	if testing.Short() {
		t.Skip("runs for 28 s")
	}
	idp := idptest.Start(t, "IDP_ACCESS_TOKEN_TTL="+strconv.Itoa(int(expiryTTL/time.Second)))
	a := mustNew(t, idp.ClientCredentials(idptest.ClientSecret))
	const goroutines = 32

	start := time.Now()
	mustMetadata(t, a) // the first token
	var (
		wg     sync.WaitGroup
		calls  atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		seen   = map[string]bool{} // distinct header values (never printed)
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]bool{}
			for time.Since(start) < runFor {
				md, err := a.Metadata(context.Background())
				calls.Add(1)
				if err != nil {
					if failed.Add(1) == 1 {
						t.Errorf("Metadata failed: %v", err)
					}
					continue
				}
				local[md[idptest.AuthKey]] = true
			}
			mu.Lock()
			for v := range local {
				seen[v] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	requests := idp.Stats(t).ClientCredentials()
	window := time.Since(start)
	least, most := refreshRequestBounds(expiryTTL, window)
	t.Logf("%d goroutines, %.1f s, %d calls, %d distinct tokens, %d token requests (expected %d..%d)",
		goroutines, elapsed.Seconds(), calls.Load(), len(seen), requests, least, most)
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed", failed.Load(), calls.Load())
	}
	// A token is refreshed 5.5-7.5 s after it arrived: one request per refresh, whatever the
	// number of goroutines (they share one refresh), with a whole refresh of slack.
	if requests < least || requests > most {
		t.Errorf("%d token requests in %.1f s with %v tokens; want %d..%d (one per refresh)",
			requests, window.Seconds(), expiryTTL, least, most)
	}
	// No token is served past its expiry, so the header must have changed at least every
	// lifetime while the calls went on (runFor, less the slack for the first and last calls).
	if min := int((runFor-slack)/expiryTTL) + 1; len(seen) < min {
		t.Errorf("only %d distinct tokens in %.1f s of %v tokens; want at least %d", len(seen), elapsed.Seconds(), expiryTTL, min)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	a, err := flyteauth.New(commandConfig)
	if err != nil {
		t.Fatal(err)
	}
	mustMetadata(t, a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := a.Metadata(ctx); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Metadata after Close = %v; want ErrClosed", err)
	}
	if err := a.Refresh(ctx); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Refresh after Close = %v; want ErrClosed", err)
	}
	if err := a.Invalidate(ctx, "Bearer tok"); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Invalidate after Close = %v; want ErrClosed", err)
	}
	if err := a.Logout(); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Logout after Close = %v; want ErrClosed", err)
	}
}

func TestZeroAuthenticatorIsClosed(t *testing.T) {
	var a flyteauth.Authenticator
	if _, err := a.Metadata(context.Background()); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Metadata on the zero Authenticator = %v; want ErrClosed", err)
	}
	if err := a.Refresh(context.Background()); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("Refresh on the zero Authenticator = %v; want ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}

// Close while goroutines call Metadata: every call either succeeds or reports ErrClosed.
func TestCloseDuringCalls(t *testing.T) {
	a, err := flyteauth.New(commandConfig)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				md, err := a.Metadata(context.Background())
				calls.Add(1)
				if err != nil {
					errs <- err
					return
				}
				if md["authorization"] != "Bearer tok" {
					errs <- errors.New("wrong metadata")
					return
				}
			}
		}()
	}
	for calls.Load() < 1000 {
		runtime.Gosched()
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, flyteauth.ErrClosed) {
			t.Errorf("a call concurrent with Close: %v; want success or ErrClosed", err)
		}
	}
}

// hangingServer accepts connections and never answers; arrived receives one value per
// connection. It makes the library block inside a call.
func hangingServer(t *testing.T) (endpoint string, arrived <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				buf := make([]byte, 1)
				if _, err := c.Read(buf); err == nil { // the request has started
					ch <- struct{}{}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), ch
}

func hangingConfig(endpoint string) string {
	return `{"endpoint": "` + endpoint + `", "insecure": true, "authType": "ClientSecret", "clientId": "x", "clientSecret": "y"}`
}

// callResult waits for a call started in a goroutine.
func callResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second): // the library's own bound is 15 s per attempt
		t.Fatal("the call did not return within 10 s")
		return nil
	}
}

func TestContextCancelStopsABlockedCall(t *testing.T) {
	endpoint, arrived := hangingServer(t)
	for name, call := range map[string]func(*flyteauth.Authenticator, context.Context) error{
		"Metadata": func(a *flyteauth.Authenticator, ctx context.Context) error {
			_, err := a.Metadata(ctx)
			return err
		},
		"Refresh": (*flyteauth.Authenticator).Refresh,
	} {
		a := mustNew(t, hangingConfig(endpoint))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- call(a, ctx) }()
		<-arrived // the call is waiting for the server
		cancel()
		err := callResult(t, done)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, flyteauth.ErrCancelled) {
			t.Errorf("%s with a cancelled context = %v; want context.Canceled and ErrCancelled", name, err)
		}
	}
}

func TestContextDeadline(t *testing.T) {
	endpoint, _ := hangingServer(t)
	a := mustNew(t, hangingConfig(endpoint))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := a.Metadata(ctx)
		done <- err
	}()
	err := callResult(t, done)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, flyteauth.ErrTimeout) {
		t.Errorf("Metadata past its deadline = %v; want context.DeadlineExceeded and ErrTimeout", err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	endpoint, _ := hangingServer(t)
	a := mustNew(t, hangingConfig(endpoint))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Metadata(ctx); !errors.Is(err, context.Canceled) || !errors.Is(err, flyteauth.ErrCancelled) {
		t.Errorf("Metadata with a cancelled context = %v", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := a.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, flyteauth.ErrTimeout) {
		t.Errorf("Refresh past its deadline = %v", err)
	}
	if err := a.Invalidate(ctx, "Bearer x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invalidate past its deadline = %v", err)
	}
}

// Close cancels a blocked call and waits for it.
func TestCloseCancelsABlockedCall(t *testing.T) {
	endpoint, arrived := hangingServer(t)
	a, err := flyteauth.New(hangingConfig(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Metadata(context.Background())
		done <- err
	}()
	<-arrived
	closed := make(chan struct{})
	go func() {
		_ = a.Close()
		close(closed)
	}()
	err = callResult(t, done)
	if !errors.Is(err, flyteauth.ErrClosed) || !errors.Is(err, flyteauth.ErrCancelled) {
		t.Errorf("a call blocked during Close = %v; want ErrClosed and ErrCancelled", err)
	}
	<-closed
}

// An Authenticator dropped without Close is released by the cleanup backstop. Under
// `-tags debug` every C call forces a GC first, so an Authenticator whose only reference is
// the method receiver would be collected mid-call if a runtime.KeepAlive were missing.
func TestUnreachableAuthenticatorsAreReleased(t *testing.T) {
	idp := idptest.Start(t)
	config := idp.ClientCredentials(idptest.ClientSecret)
	before := flyteauth.CollectedCount()
	const n = 10
	for i := range n {
		a, err := flyteauth.New(config)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// The only reference is the receiver of a blocking call.
			if _, err := a.Metadata(context.Background()); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := a.Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The only reference is the receiver of the non-blocking path, then of Invalidate.
		if _, err := a.Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := a.Invalidate(context.Background(), "Bearer not-current"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for flyteauth.CollectedCount()-before < n && time.Now().Before(deadline) {
		runtime.GC()
		runtime.Gosched()
	}
	if got := flyteauth.CollectedCount() - before; got < n {
		t.Errorf("%d of %d unreachable Authenticators were released", got, n)
	}
}

func TestHeadersView(t *testing.T) {
	idp := idptest.Start(t, "IDP_REQUIRE_PROXY_AUTH=Bearer x")
	a := mustNew(t, idp.Config(map[string]any{"proxyCommand": []string{"echo", "x"}}))
	h, err := a.Headers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	md := mustMetadata(t, a)
	if h.Len() != 2 || len(md) != 2 {
		t.Fatalf("want 2 headers, got %d (map: %d)", h.Len(), len(md))
	}
	for k, v := range h.All() {
		if md[k] != v || h.Get(k) != v {
			t.Errorf("header %q differs between All, Get and Metadata", k)
		}
	}
	if k, v := h.Auth(); k != idptest.AuthKey || v != md[idptest.AuthKey] {
		t.Errorf("Auth() key = %q; want %q with the Metadata value", k, idptest.AuthKey)
	}
	if s := h.String(); s != "flyteauth.Headers[flyte-authorization proxy-authorization]" {
		t.Errorf("String() = %q; want the keys only", s)
	}
	var zero flyteauth.Headers
	if zero.Len() != 0 || zero.Get("x") != "" || zero.String() != "flyteauth.Headers[]" {
		t.Error("the zero Headers is not empty")
	}
	if k, v := zero.Auth(); k != "" || v != "" {
		t.Error("the zero Headers has an auth header")
	}
}

// SharedMap is built once per token and shared; a new token gets a new map, and a caller's
// own Map stays its own.
func TestSharedMapPerSnapshot(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.Config(nil))
	ctx := context.Background()
	h1, err := a.Headers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m1, m1again := h1.SharedMap(), h1.SharedMap()
	if reflect.ValueOf(m1).UnsafePointer() != reflect.ValueOf(m1again).UnsafePointer() {
		t.Error("SharedMap built a second map for the same snapshot")
	}
	if !maps.Equal(m1, h1.Map()) || len(m1) != h1.Len() {
		t.Error("SharedMap differs from Map")
	}
	own := h1.Map()
	own["x-mine"] = "1"
	if _, leaked := h1.SharedMap()["x-mine"]; leaked {
		t.Error("a change to Map's result reached the shared map")
	}
	_, old := h1.Auth()
	if err := a.Invalidate(ctx, old); err != nil {
		t.Fatal(err)
	}
	h2, err := a.Headers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m2 := h2.SharedMap()
	if m2[idptest.AuthKey] == old || m1[idptest.AuthKey] != old {
		t.Error("after a refresh the shared maps did not follow the snapshots")
	}
	var zero flyteauth.Headers
	if len(zero.SharedMap()) != 0 {
		t.Error("the zero Headers has a non-empty shared map")
	}
}
