package flyteauth

import (
	"context"
	"iter"
	"strings"
	"time"
)

// Headers is an immutable view of the headers for one call: the allocation-free form of
// [Authenticator.Metadata], for hot paths that copy the headers somewhere else anyway (an
// http.Header, gRPC metadata). The zero Headers has no headers.
//
// The values are credentials. String and the %v verb show only the keys.
type Headers struct {
	s *snapshot
}

// Headers returns the headers for one call, as [Authenticator.Metadata] does, without
// allocating when the token is valid.
func (a *Authenticator) Headers(ctx context.Context) (Headers, error) {
	s, err := a.snapshot(ctx)
	if err != nil {
		return Headers{}, err
	}
	return Headers{s}, nil
}

// Expiry returns when the token in these headers expires, as the library knows it (the JWT
// "exp", or the token response's expires_in); ok is false when it is unknown (an opaque token
// without expires_in, a command token) or for the zero Headers.
func (h Headers) Expiry() (t time.Time, ok bool) {
	if h.s == nil || h.s.expiresAtMs == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(h.s.expiresAtMs), true
}

// Len returns the number of headers.
func (h Headers) Len() int {
	if h.s == nil {
		return 0
	}
	return len(h.s.keys)
}

// At returns header i (0 <= i < Len()): its lowercase key and its value.
func (h Headers) At(i int) (key, value string) {
	return h.s.keys[i], h.s.values[i]
}

// Get returns the value of the header with the lowercase key, or "".
func (h Headers) Get(key string) string {
	for i := range h.Len() {
		if h.s.keys[i] == key {
			return h.s.values[i]
		}
	}
	return ""
}

// Auth returns the auth header (e.g. "flyte-authorization", "Bearer <token>"): header 0,
// before "proxy-authorization" when there is one. Its value is the one to pass to
// [Authenticator.Invalidate] when the server rejects a call. The zero Headers returns "", "".
func (h Headers) Auth() (key, value string) {
	if h.Len() == 0 {
		return "", ""
	}
	return h.s.keys[0], h.s.values[0]
}

// All iterates over the headers as (key, value) pairs.
func (h Headers) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range h.Len() {
			if !yield(h.s.keys[i], h.s.values[i]) {
				return
			}
		}
	}
}

// Map returns the headers as a new map, which the caller may keep or modify.
func (h Headers) Map() map[string]string {
	md := make(map[string]string, h.Len())
	for i := range h.Len() {
		md[h.s.keys[i]] = h.s.values[i]
	}
	return md
}

// SharedMap returns the headers as a map that is shared by every caller holding this
// snapshot: it is built once per token, so a call costs no allocation. The map must not
// be modified; use [Headers.Map] for a map of your own. It is meant for APIs that only read
// the map they are given, such as gRPC's credentials.PerRPCCredentials (grpcauth uses it).
func (h Headers) SharedMap() map[string]string {
	if h.s == nil {
		return map[string]string{}
	}
	if m := h.s.shared.Load(); m != nil {
		return *m
	}
	m := h.Map()
	// Concurrent first callers may each build one; all are equal and one is kept.
	h.s.shared.CompareAndSwap(nil, &m)
	return *h.s.shared.Load()
}

// String lists the keys, never the values: "flyteauth.Headers[flyte-authorization]".
func (h Headers) String() string {
	if h.s == nil {
		return "flyteauth.Headers[]"
	}
	return "flyteauth.Headers[" + strings.Join(h.s.keys, " ") + "]"
}
