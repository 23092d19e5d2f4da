// Command storm is the Go storm program (benches/README.md "Storm programs"): N goroutines
// call flyteadmin's ListProjects through a gRPC client for S seconds while the fixture's
// tokens expire, and it reports how many calls succeeded, failed and were rejected.
//
//	storm -impl flyteauth|flyteidl-go -threads N -seconds S
//
// The flyteadmin is an in-process stand-in (internal/standin) that forwards each call's
// bearer token to the fixture's /api/v1/projects, so the fixture counts every rejection.
// The clients:
//
//   - flyteauth: a flyteauth Authenticator and grpcauth.UnaryClientInterceptor on a
//     grpc.NewClient connection (the interceptor attaches the header and, on
//     Unauthenticated, invalidates the value it sent and retries once);
//   - flyteidl-go: admin.NewClientsetBuilder().WithConfig(cfg).Build(ctx), the Go admin
//     client with its own auth interceptor and per-RPC credentials, configured from its
//     defaults (see internal/adminclient).
//
// After a warm-up (one successful call) it records start_ms, runs the goroutines until
// start_ms + S, waits for the calls in flight, records end_ms and appends one "storm" line
// to $FLYTEAUTH_BENCH_RESULTS. client_saw_401 is the number of Unauthenticated answers the
// stand-in gave in that window: each one reached the client, which then retried or failed.
// A call still unfinished 15 s after the end is counted in "unfinished" (not in calls) and
// abandoned. It never prints a token or the secret.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flyteorg/flyte/flyteidl/clients/go/admin"
	flyteadmin "github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/service"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/grpcauth"

	"github.com/flyteorg/flyteauth/benches/go/internal/adminclient"
	"github.com/flyteorg/flyteauth/benches/go/internal/benchenv"
	"github.com/flyteorg/flyteauth/benches/go/internal/standin"
)

func main() {
	impl := flag.String("impl", "", "flyteauth or flyteidl-go")
	threads := flag.Int("threads", 8, "goroutines calling at once")
	seconds := flag.Int("seconds", 12, "length of the run")
	callTimeout := flag.Duration("call-timeout", 30*time.Second, "deadline of each call")
	grace := flag.Duration("grace", 15*time.Second, "how long to wait for calls in flight after the run")
	flag.Parse()
	if (*impl != "flyteauth" && *impl != "flyteidl-go") || *threads < 1 || *seconds < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: storm -impl flyteauth|flyteidl-go -threads N -seconds S")
		os.Exit(2)
	}
	if err := run(*impl, *threads, *seconds, *callTimeout, *grace); err != nil {
		fmt.Fprintf(os.Stderr, "storm %s: %v\n", *impl, err)
		os.Exit(1)
	}
}

// client is an AdminService client and what releases it.
type client struct {
	admin service.AdminServiceClient
	close func()
}

func newFlyteauthClient(idp benchenv.IdP, target string) (*client, error) {
	auth, err := flyteauth.New(idp.FlyteauthConfig())
	if err != nil {
		return nil, err
	}
	// The interceptor only, as grpcauth documents: it attaches the headers and is the one
	// that recovers from a rejection; adding grpcauth.PerRPCCredentials as well would send
	// the header twice.
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(auth)))
	if err != nil {
		auth.Close()
		return nil, err
	}
	return &client{
		admin: service.NewAdminServiceClient(conn),
		close: func() { conn.Close(); auth.Close() },
	}, nil
}

func newAdminClient(ctx context.Context, idp benchenv.IdP, target string) (*client, error) {
	if err := adminclient.UseDefaultLogging(); err != nil {
		return nil, err
	}
	cfg, err := adminclient.Config(ctx, idp, target)
	if err != nil {
		return nil, err
	}
	cs, err := admin.NewClientsetBuilder().WithConfig(cfg).Build(ctx)
	if err != nil {
		return nil, err
	}
	// The Clientset does not expose its connection, so there is nothing to close.
	return &client{admin: cs.AdminClient(), close: func() {}}, nil
}

// tally counts the calls of all goroutines.
type tally struct {
	calls, ok, failed, inFlight atomic.Int64

	mu     sync.Mutex
	byCode map[string]int64
	first  map[string]string // the first error message per code
}

func (t *tally) add(err error) {
	t.calls.Add(1)
	if err == nil {
		t.ok.Add(1)
		return
	}
	t.failed.Add(1)
	code := status.Code(err).String()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byCode[code]++
	if _, seen := t.first[code]; !seen {
		t.first[code] = err.Error()
	}
}

func run(impl string, threads, seconds int, callTimeout, grace time.Duration) error {
	idp, err := benchenv.FromEnv()
	if err != nil {
		return err
	}
	srv, err := standin.Start(idp.URL)
	if err != nil {
		return err
	}
	defer srv.Stop()

	ctx := context.Background()
	var c *client
	if impl == "flyteauth" {
		c, err = newFlyteauthClient(idp, srv.Addr())
	} else {
		c, err = newAdminClient(ctx, idp, srv.Addr())
	}
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}

	call := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		_, err := c.admin.ListProjects(ctx, &flyteadmin.ProjectListRequest{})
		return err
	}
	// Warm-up: the first token and one successful call.
	if err := call(ctx); err != nil {
		return fmt.Errorf("warm-up call: %w", err)
	}

	t := &tally{byCode: map[string]int64{}, first: map[string]string{}}
	before := srv.Counts()
	start := time.Now()
	deadline := start.Add(time.Duration(seconds) * time.Second)
	var done sync.WaitGroup
	for range threads {
		done.Add(1)
		go func() {
			defer done.Done()
			for time.Now().Before(deadline) {
				t.inFlight.Add(1)
				err := call(ctx)
				t.inFlight.Add(-1)
				t.add(err)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(time.Until(deadline) + grace):
	}
	end := time.Now()
	unfinished := t.inFlight.Load()
	after := srv.Counts()

	label := "grpcauth.UnaryClientInterceptor via grpc.NewClient, gRPC stand-in forwarding to the fixture"
	if impl == "flyteidl-go" {
		label = "admin.NewClientsetBuilder().Build (auth interceptor + per-RPC credentials), gRPC stand-in forwarding to the fixture"
	}
	rec := benchenv.Record{
		"kind": "storm", "impl": impl, "lang": "Go", "label": label,
		"threads": threads, "seconds": seconds,
		"start_ms": start.UnixMilli(), "end_ms": end.UnixMilli(),
		"calls": t.calls.Load(), "ok": t.ok.Load(), "failed": t.failed.Load(),
		"client_saw_401": after.Unauthenticated - before.Unauthenticated,
		"unfinished":     unfinished,
	}
	if len(t.byCode) > 0 {
		rec["failed_by_code"] = t.byCode
	}
	if err := benchenv.Append(rec); err != nil {
		return err
	}

	elapsed := end.Sub(start).Seconds()
	fmt.Printf("storm %s (Go) threads=%d seconds=%d: calls=%d ok=%d failed=%d client_saw_401=%d unfinished=%d, %.0f calls/s\n",
		impl, threads, seconds, t.calls.Load(), t.ok.Load(), t.failed.Load(),
		after.Unauthenticated-before.Unauthenticated, unfinished, float64(t.calls.Load())/elapsed)
	fmt.Printf("  stand-in in the window: calls=%d no_token=%d errors=%d; since start: GetOAuth2Metadata=%d GetPublicClientConfig=%d\n",
		after.Calls-before.Calls, after.NoToken-before.NoToken, after.Errors-before.Errors,
		after.OAuth2Metadata, after.ClientConfig)
	if s, err := fixtureWindow(idp.URL, start.UnixMilli(), end.UnixMilli()); err == nil {
		fmt.Printf("  fixture in the window: %s\n", s)
	} else {
		fmt.Printf("  fixture stats unavailable: %v\n", err)
	}
	codes := make([]string, 0, len(t.byCode))
	for code := range t.byCode {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		fmt.Printf("  failed with %s: %d, first: %s\n", code, t.byCode[code], oneLine(t.first[code]))
	}
	if unfinished > 0 {
		// Those goroutines are blocked inside the client; exit without waiting for them.
		fmt.Printf("  %d call(s) still blocked %s after the end of the run: abandoned\n", unfinished, grace)
		srv.Stop()
		os.Exit(0)
	}
	c.close()
	return nil
}

// fixtureWindow summarizes the fixture's /_test/stats within [startMS, endMS].
func fixtureWindow(idpURL string, startMS, endMS int64) (string, error) {
	resp, err := http.Get(idpURL + "/_test/stats")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var st struct {
		TokenRequests int64   `json:"token_requests"`
		APIAccepted   int64   `json:"api_accepted"`
		APIRejected   int64   `json:"api_rejected"`
		TokenTimes    []int64 `json:"token_request_times_ms"`
		RejectedTimes []int64 `json:"api_rejected_times_ms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", err
	}
	in := func(times []int64) (n int) {
		for _, ms := range times {
			if ms >= startMS && ms <= endMS {
				n++
			}
		}
		return n
	}
	return fmt.Sprintf("token_requests=%d api_rejected=%d (since the fixture started: token_requests=%d api_accepted=%d api_rejected=%d)",
		in(st.TokenTimes), in(st.RejectedTimes), st.TokenRequests, st.APIAccepted, st.APIRejected), nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
