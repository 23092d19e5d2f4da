// Command hotpath times the hot path, the header metadata for one call with a valid token,
// for flyteauth's Go binding and for Flyte's Go admin client side by side, with
// testing.Benchmark (allocations counted), and appends one "hot_path" line per benchmark to
// $FLYTEAUTH_BENCH_RESULTS (benches/README.md).
//
//	hotpath [-count 3] [-benchtime 1s] [-run substring]
//
// Every client gets its first token from the fixture (client credentials, same settings)
// before the timer starts. The tokens must outlive the run: start the fixture without a
// short IDP_ACCESS_TOKEN_TTL (the default is 300 s); hotpath refuses tokens valid for less
// than two minutes (exit status 3).
//
// The benchmarks:
//
//   - flyteauth: Authenticator.Metadata; Authenticator.Headers (the allocation-free view);
//     grpcauth.PerRPCCredentials(...).GetRequestMetadata;
//     grpcauth.UnaryClientInterceptor around a no-op invoker (the header goes into the
//     call's outgoing metadata).
//   - flyteidl-go: the admin client's per-RPC credentials (admin.PerRPCCredentialsFuture)
//     GetRequestMetadata, in both states its auth interceptor leaves them in: after
//     MaterializeCredentials (over its client-credentials token source: lock, token cache,
//     unverified JWT parse of exp) and after MaterializeInMemoryCredentials (a snapshot of
//     the cached token, what the interceptor stores before each call while the cached token
//     is valid); and its auth interceptor (admin.NewAuthInterceptor) around a no-op invoker
//     that asks those credentials for the header, as grpc-go's transport does.
//   - x/oauth2: clientcredentials' ReuseTokenSource Token() plus the header map, the plain
//     Go baseline.
//
// Each benchmark runs -count times; the line reports the run with the median ns/op.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flyteorg/flyte/flyteidl/clients/go/admin"
	"github.com/flyteorg/flyte/flyteidl/clients/go/admin/cache"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/grpcauth"

	"github.com/flyteorg/flyteauth/benches/go/internal/adminclient"
	"github.com/flyteorg/flyteauth/benches/go/internal/benchenv"
	"github.com/flyteorg/flyteauth/benches/go/internal/standin"
)

// minTokenLife is how long the first tokens must stay valid for the run to time the hot path.
const minTokenLife = 2 * time.Minute

// sink keeps results alive so the compiler cannot drop the work.
var sink map[string]string

// bench is one benchmark: setup runs once (untimed) and returns the timed operation.
type bench struct {
	impl, label string
	op          func() error
}

func main() {
	testing.Init()
	count := flag.Int("count", 3, "runs per benchmark (the median is reported)")
	benchtime := flag.String("benchtime", "1s", "time (or Nx iterations) per run")
	only := flag.String("run", "", "only benchmarks whose label contains this")
	flag.Parse()
	if *count < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: hotpath [-count N] [-benchtime 1s] [-run substring]")
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fmt.Fprintln(os.Stderr, "hotpath: -benchtime:", err)
		os.Exit(2)
	}
	if err := run(*count, *only); err != nil {
		fmt.Fprintln(os.Stderr, "hotpath:", err)
		if errors.Is(err, errShortToken) {
			os.Exit(3) // run.sh then starts a fixture with long-lived tokens
		}
		os.Exit(1)
	}
}

func run(count int, only string) error {
	idp, err := benchenv.FromEnv()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var benches []bench
	fa, closeFA, err := flyteauthBenches(ctx, idp)
	if err != nil {
		return fmt.Errorf("flyteauth: %w", err)
	}
	defer closeFA()
	benches = append(benches, fa...)
	ad, closeAd, err := adminBenches(ctx, idp)
	if err != nil {
		return fmt.Errorf("flyteidl-go: %w", err)
	}
	defer closeAd()
	benches = append(benches, ad...)
	xo, err := oauth2Bench(ctx, idp)
	if err != nil {
		return fmt.Errorf("x/oauth2: %w", err)
	}
	benches = append(benches, xo)

	for _, b := range benches {
		if only != "" && !strings.Contains(b.label, only) {
			continue
		}
		r, err := measure(b, count)
		if err != nil {
			return fmt.Errorf("%s %s: %w", b.impl, b.label, err)
		}
		nsPerOp := float64(r.T.Nanoseconds()) / float64(r.N)
		fmt.Printf("hot_path %-11s %-100s %9.1f ns/op %4d allocs/op %6d B/op\n",
			b.impl, b.label, nsPerOp, r.AllocsPerOp(), r.AllocedBytesPerOp())
		if err := benchenv.Append(benchenv.Record{
			"kind": "hot_path", "impl": b.impl, "lang": "Go", "label": b.label,
			"ns_per_op":     float64(int64(nsPerOp*10+0.5)) / 10,
			"allocs_per_op": r.AllocsPerOp(), "bytes_per_op": r.AllocedBytesPerOp(),
		}); err != nil {
			return err
		}
	}
	return nil
}

// measure runs b count times and returns the run with the median time per operation.
func measure(b bench, count int) (testing.BenchmarkResult, error) {
	var failure error
	results := make([]testing.BenchmarkResult, 0, count)
	for range count {
		r := testing.Benchmark(func(tb *testing.B) {
			tb.ReportAllocs()
			for tb.Loop() {
				if err := b.op(); err != nil {
					failure = err
					tb.FailNow()
				}
			}
		})
		if failure != nil {
			return r, failure
		}
		if r.N == 0 {
			return r, errors.New("the benchmark did not run")
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].NsPerOp() < results[j].NsPerOp() })
	return results[len(results)/2], nil
}

// flyteauthBenches creates an Authenticator with the same settings as the admin client's.
func flyteauthBenches(ctx context.Context, idp benchenv.IdP) ([]bench, func(), error) {
	a, err := flyteauth.New(idp.FlyteauthConfig())
	if err != nil {
		return nil, nil, err
	}
	md, err := a.Metadata(ctx)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	if err := checkLife(md[benchenv.HeaderKey]); err != nil {
		a.Close()
		return nil, nil, err
	}
	bg := context.Background()
	creds := grpcauth.PerRPCCredentials(a, grpcauth.WithTransportSecurity(false))
	interceptor := grpcauth.UnaryClientInterceptor(a)
	noop := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	// The limit for Metadata: the fresh map it must return, built from the same strings with no
	// library code (issue 15's "limit" rows; the report gives Metadata as a ratio to it).
	key, value := benchenv.HeaderKey, md[benchenv.HeaderKey]
	return []bench{
		{"limit", "a new one-entry map[string]string from existing strings (what Metadata must return)", func() error {
			m := make(map[string]string, 1)
			m[key] = value
			sink = m
			return nil
		}},
		{"flyteauth", "Authenticator.Metadata", func() error {
			md, err := a.Metadata(bg)
			sink = md
			return err
		}},
		{"flyteauth", "Authenticator.Headers (the allocation-free view the interceptor uses)", func() error {
			h, err := a.Headers(bg)
			if err == nil && h.Len() == 0 {
				err = errors.New("no headers")
			}
			return err
		}},
		{"flyteauth", "grpcauth.PerRPCCredentials GetRequestMetadata", func() error {
			md, err := creds.GetRequestMetadata(bg)
			sink = md
			return err
		}},
		{"flyteauth", "grpcauth.UnaryClientInterceptor per call (no-op invoker)", func() error {
			return interceptor(bg, "/flyteidl.service.AdminService/ListProjects", nil, nil, nil, noop)
		}},
	}, func() { a.Close() }, nil
}

// adminBenches drives the Go admin client's own objects: its client-credentials token
// source provider, its per-RPC credentials future and its auth interceptor, configured as
// in the storm program.
func adminBenches(ctx context.Context, idp benchenv.IdP) ([]bench, func(), error) {
	if err := adminclient.UseDefaultLogging(); err != nil {
		return nil, nil, err
	}
	// The interceptor builds an AuthMetadataService connection to the endpoint on first
	// use (never called with this configuration); give it the stand-in rather than an
	// address that speaks no gRPC.
	srv, err := standin.Start(idp.URL)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := adminclient.Config(ctx, idp, srv.Addr())
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	bg := context.Background()

	// (1) Per-RPC credentials over the client-credentials token source.
	tc1 := cache.NewTokenCacheInMemoryProvider()
	provider, err := admin.NewTokenSourceProvider(bg, cfg, tc1, nil)
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	ts, err := provider.GetTokenSource(bg)
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	sourceCreds := admin.NewPerRPCCredentialsFuture()
	if err := admin.MaterializeCredentials(ts, cfg, cfg.AuthorizationHeader, sourceCreds); err != nil {
		srv.Stop()
		return nil, nil, err
	}
	md, err := sourceCreds.GetRequestMetadata(bg)
	if err == nil {
		err = checkLife(md[benchenv.HeaderKey])
	}
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}

	// (2) Per-RPC credentials as the interceptor re-stores them before each call.
	snapshotCreds := admin.NewPerRPCCredentialsFuture()
	if err := admin.MaterializeInMemoryCredentials(bg, cfg, tc1, snapshotCreds, cfg.AuthorizationHeader); err != nil {
		srv.Stop()
		return nil, nil, err
	}

	// (3) The auth interceptor with its credentials, as admin's initializeClients wires
	// them; the invoker asks the credentials for the header like grpc-go's transport and
	// answers Unauthenticated when there is none (the server's answer to an anonymous call).
	tc3 := cache.NewTokenCacheInMemoryProvider()
	creds3 := admin.NewPerRPCCredentialsFuture()
	interceptor := admin.NewAuthInterceptor(cfg, tc3, creds3, admin.NewPerRPCCredentialsFuture())
	invoker := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		md, err := creds3.GetRequestMetadata(ctx)
		if err != nil {
			return err
		}
		if md[benchenv.HeaderKey] == "" {
			return status.Error(codes.Unauthenticated, "no token")
		}
		sink = md
		return nil
	}
	const method = "/flyteidl.service.AdminService/ListProjects"
	// Warm-up: the first call goes out anonymously, is rejected, and the interceptor
	// fetches a token and retries; from then on the cached token is used.
	if err := interceptor(ctx, method, nil, nil, nil, invoker); err != nil {
		srv.Stop()
		return nil, nil, fmt.Errorf("auth interceptor warm-up: %w", err)
	}

	return []bench{
		{"flyteidl-go", "PerRPCCredentialsFuture.GetRequestMetadata after MaterializeCredentials (client-credentials token source)", func() error {
			md, err := sourceCreds.GetRequestMetadata(bg)
			sink = md
			return err
		}},
		{"flyteidl-go", "PerRPCCredentialsFuture.GetRequestMetadata after MaterializeInMemoryCredentials (cached-token snapshot)", func() error {
			md, err := snapshotCreds.GetRequestMetadata(bg)
			sink = md
			return err
		}},
		{"flyteidl-go", "NewAuthInterceptor per call + PerRPCCredentialsFuture.GetRequestMetadata (no-op invoker)", func() error {
			return interceptor(bg, method, nil, nil, nil, invoker)
		}},
	}, srv.Stop, nil
}

// oauth2Bench is golang.org/x/oauth2's client credentials: Token() from its
// ReuseTokenSource, and the header map grpc-go's oauth credentials would build from it.
func oauth2Bench(ctx context.Context, idp benchenv.IdP) (bench, error) {
	cc := clientcredentials.Config{
		ClientID: idp.ClientID, ClientSecret: idp.Secret, TokenURL: idp.TokenURL(),
		Scopes:         []string{benchenv.Scope},
		EndpointParams: url.Values{"audience": {benchenv.Audience}},
	}
	ts := cc.TokenSource(ctx) // a ReuseTokenSource
	tok, err := ts.Token()
	if err != nil {
		return bench{}, err
	}
	if err := checkLife("Bearer " + tok.AccessToken); err != nil {
		return bench{}, err
	}
	return bench{"x/oauth2", "clientcredentials ReuseTokenSource.Token + header map", func() error {
		tok, err := ts.Token()
		if err != nil {
			return err
		}
		sink = map[string]string{benchenv.HeaderKey: tok.Type() + " " + tok.AccessToken}
		return nil
	}}, nil
}

var errShortToken = fmt.Errorf("the fixture's tokens expire within %s: the hot path needs a token that stays valid; "+
	"run without IDP_ACCESS_TOKEN_TTL (benches/go/run.sh hotpath starts its own fixture when FLYTEAUTH_IDP_URL is unset)", minTokenLife)

// checkLife checks that the bearer JWT in header stays valid for minTokenLife. It never
// prints the token.
func checkLife(header string) error {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return errors.New("the header is not a bearer token")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the access token is not a JWT (no audience?)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("the access token's payload is not base64url")
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == 0 {
		return errors.New("the access token has no exp claim")
	}
	if time.Until(time.Unix(claims.Exp, 0)) < minTokenLife {
		return errShortToken
	}
	return nil
}
