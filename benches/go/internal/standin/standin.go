// Package standin is an in-process gRPC stand-in for flyteadmin, on loopback.
//
// It serves AdminService.ListProjects, authorized the way the benchmark protocol wants it:
// the bearer token the call carries (flyte-authorization, else authorization) is forwarded
// to the identity provider fixture's protected resource GET /api/v1/projects, and the
// fixture's verdict decides: 200 is OK, 401 is codes.Unauthenticated. Rejections are
// therefore counted at the fixture (api_rejected) for every client alike.
//
// It also serves AuthMetadataService from the fixture's /.well-known/oauth-authorization-server
// and /config/v1/flyte_client, for a client that asks (and counts how often it does).
package standin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	flyteadmin "github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/service"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Counts are the stand-in's counters since Start.
type Counts struct {
	Calls           int64 // ListProjects calls
	OK              int64 // answered OK
	Unauthenticated int64 // answered codes.Unauthenticated (the fixture said 401)
	NoToken         int64 // calls that carried no bearer token at all
	Errors          int64 // other failures (fixture unreachable, unexpected status)
	OAuth2Metadata  int64 // AuthMetadataService.GetOAuth2Metadata calls
	ClientConfig    int64 // AuthMetadataService.GetPublicClientConfig calls
}

// Server is a running stand-in.
type Server struct {
	idpURL string
	http   *http.Client
	lis    net.Listener
	grpc   *grpc.Server

	calls, ok, unauthenticated, noToken, errors, oauth2Metadata, clientConfig atomic.Int64
}

// Start listens on 127.0.0.1 (an ephemeral port) and serves until Stop. idpURL is the
// fixture's base URL (FLYTEAUTH_IDP_URL).
func Start(idpURL string) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		idpURL: idpURL,
		// One keep-alive client for every forwarded call, with room for an idle
		// connection per concurrent call, so a storm does not open a connection per call.
		http: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        1024,
				MaxIdleConnsPerHost: 1024,
				IdleConnTimeout:     90 * time.Second,
			},
		},
		lis:  lis,
		grpc: grpc.NewServer(),
	}
	service.RegisterAdminServiceServer(s.grpc, adminServer{s: s})
	service.RegisterAuthMetadataServiceServer(s.grpc, authMetadataServer{s: s})
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Stop stops the server at once, failing calls in flight.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.http.CloseIdleConnections()
}

// Counts returns the counters.
func (s *Server) Counts() Counts {
	return Counts{
		Calls:           s.calls.Load(),
		OK:              s.ok.Load(),
		Unauthenticated: s.unauthenticated.Load(),
		NoToken:         s.noToken.Load(),
		Errors:          s.errors.Load(),
		OAuth2Metadata:  s.oauth2Metadata.Load(),
		ClientConfig:    s.clientConfig.Load(),
	}
}

// bearer is the value of the first auth header the call carries.
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, key := range []string{"flyte-authorization", "authorization"} {
		if v := md.Get(key); len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

// authorize asks the fixture whether the call's bearer token is good.
func (s *Server) authorize(ctx context.Context) error {
	s.calls.Add(1)
	value := bearer(ctx)
	if value == "" {
		s.noToken.Add(1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.idpURL+"/api/v1/projects", nil)
	if err != nil {
		s.errors.Add(1)
		return status.Error(codes.Internal, err.Error())
	}
	if value != "" {
		req.Header.Set("Authorization", value)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		s.errors.Add(1)
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Errorf(codes.Internal, "asking the identity provider: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		s.ok.Add(1)
		return nil
	case http.StatusUnauthorized:
		s.unauthenticated.Add(1)
		return status.Error(codes.Unauthenticated, "the identity provider rejected the bearer token")
	default:
		s.errors.Add(1)
		return status.Errorf(codes.Internal, "the identity provider answered HTTP %d", resp.StatusCode)
	}
}

type adminServer struct {
	service.UnimplementedAdminServiceServer
	s *Server
}

// ListProjects answers an empty project list to an authorized call.
func (a adminServer) ListProjects(ctx context.Context, _ *flyteadmin.ProjectListRequest) (*flyteadmin.Projects, error) {
	if err := a.s.authorize(ctx); err != nil {
		return nil, err
	}
	return &flyteadmin.Projects{}, nil
}

type authMetadataServer struct {
	service.UnimplementedAuthMetadataServiceServer
	s *Server
}

// GetOAuth2Metadata serves the fixture's RFC 8414 document.
func (a authMetadataServer) GetOAuth2Metadata(ctx context.Context, _ *service.OAuth2MetadataRequest) (*service.OAuth2MetadataResponse, error) {
	a.s.oauth2Metadata.Add(1)
	out := &service.OAuth2MetadataResponse{}
	return out, a.s.fetchJSON(ctx, "/.well-known/oauth-authorization-server", out)
}

// GetPublicClientConfig serves the fixture's /config/v1/flyte_client.
func (a authMetadataServer) GetPublicClientConfig(ctx context.Context, _ *service.PublicClientAuthConfigRequest) (*service.PublicClientAuthConfigResponse, error) {
	a.s.clientConfig.Add(1)
	out := &service.PublicClientAuthConfigResponse{}
	return out, a.s.fetchJSON(ctx, "/config/v1/flyte_client", out)
}

// fetchJSON decodes the fixture's JSON document at path into m (snake_case field names
// are proto names, which protojson accepts; unknown fields are skipped).
func (s *Server) fetchJSON(ctx context.Context, path string, m proto.Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.idpURL+path, nil)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return status.Errorf(codes.Unavailable, "asking the identity provider: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return status.Errorf(codes.Unavailable, "reading %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return status.Errorf(codes.NotFound, "%s: HTTP %d", path, resp.StatusCode)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, m); err != nil {
		return status.Error(codes.Internal, fmt.Sprintf("decoding %s: %v", path, err))
	}
	return nil
}
