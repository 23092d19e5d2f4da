// Package grpcauth connects a [flyteauth.Authenticator] to grpc-go: per-RPC credentials,
// and client interceptors that attach the same headers and recover from a rejected token.
//
// Use either the credentials (grpc.WithPerRPCCredentials) or the interceptors, not both,
// or every call carries the headers twice. The unary interceptor is the one that recovers:
// when the server answers codes.Unauthenticated, it calls Invalidate with the exact value it
// sent and retries the call once.
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
//		grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(auth)),
//		grpc.WithStreamInterceptor(grpcauth.StreamClientInterceptor(auth)))
//
// Errors from the Authenticator carry a gRPC status (status.Code works on them) and still
// match the flyteauth sentinels with errors.Is.
package grpcauth

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

// An Option changes the per-RPC credentials.
type Option func(*perRPC)

// WithTransportSecurity sets what RequireTransportSecurity reports. The default is
// !a.Insecure(): required unless the resolved configuration (config file, FLYTE_* overrides,
// or the JSON given to flyteauth.New) says "insecure": true.
func WithTransportSecurity(required bool) Option {
	return func(c *perRPC) { c.requireTLS = required }
}

// PerRPCCredentials returns credentials.PerRPCCredentials that attach a's headers to every
// call (grpc.WithPerRPCCredentials). They do not retry a rejected call: the unary
// interceptor does.
func PerRPCCredentials(a *flyteauth.Authenticator, opts ...Option) credentials.PerRPCCredentials {
	c := &perRPC{auth: a, requireTLS: !a.Insecure()}
	for _, o := range opts {
		o(c)
	}
	return c
}

type perRPC struct {
	auth       *flyteauth.Authenticator
	requireTLS bool
}

// GetRequestMetadata returns the headers for one call.
func (c *perRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	h, err := c.auth.Headers(ctx)
	if err != nil {
		return nil, withStatus(err)
	}
	// gRPC only reads the map (it copies the pairs into the request's header fields), so
	// the snapshot's shared map is safe here and saves a map per call.
	return h.SharedMap(), nil
}

// RequireTransportSecurity reports whether the credentials need a secure connection.
func (c *perRPC) RequireTransportSecurity() bool {
	return c.requireTLS
}

// UnaryClientInterceptor returns an interceptor that attaches a's headers to each unary
// call. When the server answers codes.Unauthenticated, it calls a.Invalidate with the auth
// header value it sent (so a burst of rejections of one token costs one refresh) and
// retries the call once with the new headers.
func UnaryClientInterceptor(a *flyteauth.Authenticator) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		h, err := a.Headers(ctx)
		if err != nil {
			return withStatus(err)
		}
		err = invoker(outgoing(ctx, h), method, req, reply, cc, opts...)
		if status.Code(err) != codes.Unauthenticated {
			return err
		}
		_, rejected := h.Auth()
		if err := a.Invalidate(ctx, rejected); err != nil {
			return withStatus(err)
		}
		if h, err = a.Headers(ctx); err != nil {
			return withStatus(err)
		}
		return invoker(outgoing(ctx, h), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor returns an interceptor that attaches a's headers to each stream.
// A stream cannot be replayed, so it does not retry; the next call after a rejection should
// call Invalidate (the unary interceptor does).
func StreamClientInterceptor(a *flyteauth.Authenticator) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		h, err := a.Headers(ctx)
		if err != nil {
			return nil, withStatus(err)
		}
		return streamer(outgoing(ctx, h), desc, cc, method, opts...)
	}
}

// outgoing adds the headers to ctx's outgoing metadata.
func outgoing(ctx context.Context, h flyteauth.Headers) context.Context {
	kv := make([]string, 0, 2*h.Len())
	for k, v := range h.All() {
		kv = append(kv, k, v)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// statusError is an Authenticator error with a gRPC status.
type statusError struct {
	err  error
	code codes.Code
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return status.New(e.code, e.err.Error()) }

// withStatus gives err the gRPC code a caller expects: Canceled or DeadlineExceeded for its
// context, Unavailable when retrying later may help, else Unauthenticated.
func withStatus(err error) error {
	code := codes.Unauthenticated
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, flyteauth.ErrNetwork), errors.Is(err, flyteauth.ErrTimeout), errors.Is(err, flyteauth.ErrDiscovery):
		code = codes.Unavailable
	}
	return &statusError{err: err, code: code}
}
