package grpcauth_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/grpcauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

// server is a gRPC health service that checks the auth header: calls without one, or with a
// revoked one, get codes.Unauthenticated.
type server struct {
	healthpb.UnimplementedHealthServer
	mu        sync.Mutex
	revoked   map[string]bool
	accepted  []string // values of the accepted calls (never printed)
	rejected  int
	rejectAll bool
}

func (s *server) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(idptest.AuthKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(values) != 1 || s.revoked[values[0]] || s.rejectAll {
		s.rejected++
		return nil, status.Error(codes.Unauthenticated, "token rejected")
	}
	s.accepted = append(s.accepted, values[0])
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// revokeLast makes the server reject the token of the last accepted call.
func (s *server) revokeLast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[s.accepted[len(s.accepted)-1]] = true
}

func (s *server) counts() (accepted, rejected int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted), s.rejected
}

// start runs the server on loopback and returns a client connection with opts.
func start(t *testing.T, opts ...grpc.DialOption) (*server, healthpb.HealthClient) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{revoked: map[string]bool{}}
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, srv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+l.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return srv, healthpb.NewHealthClient(conn)
}

func newAuth(t *testing.T, config string) *flyteauth.Authenticator {
	t.Helper()
	a, err := flyteauth.New(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func check(client healthpb.HealthClient) error {
	_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	return err
}

// The interceptor recovers from a stale token with one refresh and one retry.
func TestUnaryInterceptorRecoversFromAStaleToken(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	srv, client := start(t, grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(a)))

	if err := check(client); err != nil {
		t.Fatal(err)
	}
	srv.revokeLast() // the server now considers the current token stale
	if err := check(client); err != nil {
		t.Fatalf("the call with a stale token did not recover: %v", err)
	}
	accepted, rejected := srv.counts()
	if accepted != 2 || rejected != 1 {
		t.Errorf("server: %d accepted, %d rejected; want 2 and 1", accepted, rejected)
	}
	if srv.accepted[0] == srv.accepted[1] {
		t.Error("the retry carried the rejected token")
	}
	if n := idp.Stats(t).ClientCredentials(); n != 2 {
		t.Errorf("want 2 token requests (the first token, one refresh), got %d", n)
	}

	// Many calls rejected for the same stale token at once: still one refresh.
	srv.revokeLast()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(client); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a concurrent call did not recover: %v", err)
	}
	if n := idp.Stats(t).ClientCredentials(); n != 3 {
		t.Errorf("16 calls rejected for one stale token: want 1 refresh, got %d", n-2)
	}
}

// A server that rejects every token: one retry, then the server's answer.
func TestUnaryInterceptorRetriesOnce(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	srv, client := start(t, grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(a)))
	srv.mu.Lock()
	srv.rejectAll = true
	srv.mu.Unlock()
	err := check(client)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("got %v; want the server's Unauthenticated", err)
	}
	if _, rejected := srv.counts(); rejected != 2 {
		t.Errorf("the server saw %d attempts; want 2 (one retry)", rejected)
	}
}

// The credentials fail the call with Unauthenticated and a flyteauth error when the
// identity provider refuses the client.
func TestAuthenticatorErrorsCarryAStatus(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials("wrong-secret"))
	for name, opt := range map[string]grpc.DialOption{
		"interceptor": grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(a)),
		"credentials": grpc.WithPerRPCCredentials(grpcauth.PerRPCCredentials(a)),
	} {
		srv, client := start(t, opt)
		err := check(client)
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %v; want Unauthenticated", name, err)
		}
		if name == "interceptor" && !errors.Is(err, flyteauth.ErrAuthentication) {
			t.Errorf("%s: errors.Is(err, ErrAuthentication) = false: %v", name, err)
		}
		if accepted, rejected := srv.counts(); accepted+rejected != 0 {
			t.Errorf("%s: a call reached the server without credentials", name)
		}
	}
}

func TestPerRPCCredentials(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	creds := grpcauth.PerRPCCredentials(a)
	if creds.RequireTransportSecurity() {
		t.Error("RequireTransportSecurity() = true for an insecure config")
	}
	srv, client := start(t, grpc.WithPerRPCCredentials(creds))
	for range 3 {
		if err := check(client); err != nil {
			t.Fatal(err)
		}
	}
	if accepted, _ := srv.counts(); accepted != 3 {
		t.Errorf("the server accepted %d of 3 calls", accepted)
	}

	secure := newAuth(t, `{"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret", "clientId": "x", "clientSecret": "y"}`)
	if !grpcauth.PerRPCCredentials(secure).RequireTransportSecurity() {
		t.Error("RequireTransportSecurity() = false for a TLS config")
	}
	if grpcauth.PerRPCCredentials(secure, grpcauth.WithTransportSecurity(false)).RequireTransportSecurity() {
		t.Error("WithTransportSecurity(false) was ignored")
	}
}

func TestStreamInterceptorAttachesHeaders(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	srv, client := start(t, grpc.WithStreamInterceptor(grpcauth.StreamClientInterceptor(a)))
	// Watch is a server stream: the server records the header on the first message.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if accepted, _ := srv.counts(); accepted != 1 {
		t.Errorf("the stream did not carry the auth header")
	}
}

func (s *server) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	resp, err := s.Check(stream.Context(), req)
	if err != nil {
		return err
	}
	return stream.Send(resp)
}

func TestContextCancellationStatus(t *testing.T) {
	// A cancelled context before the token is known: Canceled, and context.Canceled.
	a := newAuth(t, `{"endpoint": "127.0.0.1:1", "insecure": true, "authType": "ClientSecret", "clientId": "x", "clientSecret": "y"}`)
	_, client := start(t, grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(a)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v; want Canceled", err)
	}
}
