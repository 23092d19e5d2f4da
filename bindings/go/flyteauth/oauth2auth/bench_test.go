package oauth2auth_test

import (
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The Go baseline for the hot-path benchmarks of the flyteauth package (bench_test.go there):
// golang.org/x/oauth2's ReuseTokenSource holding a valid token.
//
//	go test -run '^$' -bench . -benchmem

var sink map[string]string

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
