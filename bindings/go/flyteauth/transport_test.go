//go:build cgo

package flyteauth_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

// apiServer answers 401 to requests whose auth header is missing or revoked; the first
// token it sees is revoked once used (as if the server had found it stale).
type apiServer struct {
	*httptest.Server
	mu       sync.Mutex
	first    string          // the first token seen
	revoked  map[string]bool // never printed
	bodies   []string        // bodies of the accepted requests
	attempts int
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{revoked: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(idptest.AuthKey)
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts++
		if s.first == "" {
			s.first = v
			s.revoked[v] = true
		}
		if v == "" || s.revoked[v] {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error": "stale token"}`)
			return
		}
		s.bodies = append(s.bodies, string(body))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) counts() (attempts int, bodies []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts, append([]string(nil), s.bodies...)
}

func do(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTransportRetriesOnceAfter401(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.ClientCredentials(idptest.ClientSecret))
	api := newAPIServer(t)
	client := &http.Client{Transport: &flyteauth.Transport{Auth: a}}

	// A replayable body (http.NewRequest sets GetBody for a *strings.Reader).
	req, err := http.NewRequest(http.MethodPost, api.URL, strings.NewReader(`{"name": "wf"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if code, body := do(t, client, req); code != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q; want 200 after one retry", code, body)
	}
	attempts, bodies := api.counts()
	if attempts != 2 || len(bodies) != 1 || bodies[0] != `{"name": "wf"}` {
		t.Errorf("server: %d attempts, accepted bodies %q; want 2 attempts and the body intact", attempts, bodies)
	}
	if n := idp.Stats(t).ClientCredentials(); n != 2 {
		t.Errorf("want 2 token requests (the first token, one refresh), got %d", n)
	}
	if req.Header.Get(idptest.AuthKey) != "" {
		t.Error("the Transport modified the caller's request")
	}

	// The next request carries the new token at once.
	req, _ = http.NewRequest(http.MethodGet, api.URL, nil)
	if code, _ := do(t, client, req); code != http.StatusOK {
		t.Errorf("got %d; want 200", code)
	}
	if attempts, _ := api.counts(); attempts != 3 {
		t.Errorf("server: %d attempts in all; want 3", attempts)
	}
}

func TestTransportDoesNotReplayAnUnreplayableBody(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.ClientCredentials(idptest.ClientSecret))
	api := newAPIServer(t)
	client := &http.Client{Transport: &flyteauth.Transport{Auth: a}}

	// A body without GetBody cannot be sent twice: the 401 is returned as it is.
	req, _ := http.NewRequest(http.MethodPost, api.URL, io.NopCloser(bytes.NewReader([]byte("data"))))
	if req.GetBody != nil {
		t.Fatal("test setup: the body is replayable")
	}
	if code, body := do(t, client, req); code != http.StatusUnauthorized || !strings.Contains(body, "stale token") {
		t.Errorf("got %d %q; want the server's 401", code, body)
	}
	// But the rejected token was invalidated: the next request succeeds at once.
	req, _ = http.NewRequest(http.MethodPost, api.URL, io.NopCloser(bytes.NewReader([]byte("data"))))
	if code, _ := do(t, client, req); code != http.StatusOK {
		t.Errorf("got %d; want 200 with the new token", code)
	}
	if attempts, bodies := api.counts(); attempts != 2 || len(bodies) != 1 || bodies[0] != "data" {
		t.Errorf("server: %d attempts, bodies %q; want 2 attempts, the second accepted", attempts, bodies)
	}
}

func TestTransportAuthenticatorError(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, idp.ClientCredentials("wrong-secret"))
	api := newAPIServer(t)
	client := &http.Client{Transport: &flyteauth.Transport{Auth: a}}
	closed := false
	req, _ := http.NewRequest(http.MethodPost, api.URL, &trackingBody{Reader: strings.NewReader("x"), closed: &closed})
	_, err := client.Do(req)
	if !errors.Is(err, flyteauth.ErrAuthentication) {
		t.Errorf("got %v; want an error matching ErrAuthentication", err)
	}
	if !closed {
		t.Error("the request body was not closed")
	}
	if attempts, _ := api.counts(); attempts != 0 {
		t.Error("a request without credentials reached the server")
	}
}

type trackingBody struct {
	io.Reader
	closed *bool
}

func (b *trackingBody) Close() error { *b.closed = true; return nil }

func TestTransportWithProxyHeader(t *testing.T) {
	a := mustNew(t, `{"authType": "ExternalCommand", "command": ["echo", "tok"], "authorizationHeader": "authorization", "proxyCommand": ["echo", "px"]}`)
	headers := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { headers <- r.Header.Clone() }))
	defer srv.Close()
	resp, err := (&http.Client{Transport: &flyteauth.Transport{Auth: a}}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	got := <-headers
	if got.Get("Authorization") != "Bearer tok" || got.Get("Proxy-Authorization") != "Bearer px" {
		t.Errorf("the request did not carry both headers (got keys %v)", headerKeys(got))
	}
}

func headerKeys(h http.Header) []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}
