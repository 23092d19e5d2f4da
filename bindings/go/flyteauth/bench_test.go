package flyteauth_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go"
	"github.com/flyteorg/flyteauth/bindings/go/internal/idptest"
)

// Benchmarks of the hot path (a valid token), side by side with golang.org/x/oauth2's
// ReuseTokenSource over a static token, the Go baseline:
//
//	go test -run '^$' -bench . -benchmem

var sink map[string]string

// benchIdP is one fixture for all benchmarks (a benchmark function runs several times while
// b.N is calibrated); TestMain stops it.
var benchIdP struct {
	once sync.Once
	idp  *idptest.IdP
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchIdP.idp != nil {
		benchIdP.idp.Stop()
	}
	os.Exit(code)
}

// validToken returns an Authenticator holding a fresh client-credentials token from the
// fixture (valid for 300 s; refreshed 30 s before expiry).
func validToken(b *testing.B) *flyteauth.Authenticator {
	benchIdP.once.Do(func() { benchIdP.idp, benchIdP.err = idptest.Launch() })
	if benchIdP.err != nil {
		b.Fatal(benchIdP.err)
	}
	a := mustNew(b, benchIdP.idp.ClientCredentials(idptest.ClientSecret))
	authValue(b, mustMetadata(b, a))
	b.ResetTimer()
	return a
}

// Metadata with a valid token: one cgo call, plus the returned map (two allocations).
func BenchmarkMetadata(b *testing.B) {
	a := validToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		md, err := a.Metadata(ctx)
		if err != nil {
			b.Fatal(err)
		}
		sink = md
	}
}

// Headers with a valid token: the allocation-free view (the binding's own cost).
func BenchmarkHeaders(b *testing.B) {
	a := validToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h, err := a.Headers(ctx)
		if err != nil || h.Len() == 0 {
			b.Fatal(err)
		}
	}
}

// Metadata from all Ps at once (one Authenticator shared by every goroutine).
func BenchmarkMetadataParallel(b *testing.B) {
	a := validToken(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := a.Metadata(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkHeadersParallel(b *testing.B) {
	a := validToken(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := a.Headers(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func staticReuseTokenSource() oauth2.TokenSource {
	tok := &oauth2.Token{AccessToken: "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.static", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	return oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(tok))
}

// The Go baseline: Token() from a ReuseTokenSource holding a valid token.
func BenchmarkOAuth2ReuseTokenSource(b *testing.B) {
	ts := staticReuseTokenSource()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// The Go baseline doing what Metadata does: Token() and the header map, as grpc-go's
// oauth.TokenSource builds it in GetRequestMetadata.
func BenchmarkOAuth2ReuseTokenSourceAsMetadata(b *testing.B) {
	ts := staticReuseTokenSource()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := ts.Token()
		if err != nil {
			b.Fatal(err)
		}
		sink = map[string]string{"authorization": tok.Type() + " " + tok.AccessToken}
	}
}

func BenchmarkOAuth2ReuseTokenSourceParallel(b *testing.B) {
	ts := staticReuseTokenSource()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkOAuth2ReuseTokenSourceAsMetadataParallel(b *testing.B) {
	ts := staticReuseTokenSource()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var md map[string]string
		for pb.Next() {
			tok, err := ts.Token()
			if err != nil {
				b.Error(err)
				return
			}
			md = map[string]string{"authorization": tok.Type() + " " + tok.AccessToken}
		}
		_ = md
	})
}
