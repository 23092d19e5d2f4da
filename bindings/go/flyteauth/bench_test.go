//go:build cgo

package flyteauth_test

import (
	"context"
	"os"
	"sync"
	"testing"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

// Benchmarks of the hot path (a valid token). The Go baseline they are compared with,
// golang.org/x/oauth2's ReuseTokenSource over a static token, is in oauth2auth/bench_test.go
// (that module depends on x/oauth2; this one on the standard library only):
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
