// Package oauth2auth is a golang.org/x/oauth2 view of a [flyteauth.Authenticator], for code
// that already speaks oauth2.TokenSource (oauth2.NewClient, grpc-go's oauth.TokenSource, ...).
//
//	client := oauth2.NewClient(ctx, oauth2auth.TokenSource(ctx, auth))
//
// The view carries the access token only. The Authenticator's auth header key (e.g.
// "flyte-authorization") and its proxy-authorization header do not fit in an oauth2.Token,
// and x/oauth2 does not recover from a 401: prefer flyteauth.Transport for HTTP and the
// grpcauth package for gRPC, which send every header and retry once after a rejection.
package oauth2auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/oauth2"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

// TokenSource returns an oauth2.TokenSource whose Token is the Authenticator's current
// token. ctx bounds the calls that must wait for a new token (Token has no context of its
// own), as in x/oauth2's own token sources.
//
// The source needs no caching: a valid token costs about as much as an
// oauth2.ReuseTokenSource's. The token's Expiry is the library's ([flyteauth.Headers.Expiry]:
// the JWT "exp", or the token response's expires_in); when that is unknown (a command token)
// it is the time of the call, so a ReuseTokenSource wrapped around this source
// (oauth2.NewClient adds one) asks it again on every request and never serves a token the
// Authenticator has replaced.
func TokenSource(ctx context.Context, a *flyteauth.Authenticator) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, auth: a}
}

type tokenSource struct {
	ctx  context.Context
	auth *flyteauth.Authenticator
}

// Token returns the current token.
func (ts *tokenSource) Token() (*oauth2.Token, error) {
	h, err := ts.auth.Headers(ts.ctx)
	if err != nil {
		return nil, err
	}
	_, value := h.Auth()
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || token == "" {
		return nil, errors.New("oauth2auth: the auth header is not of the form \"<scheme> <token>\"")
	}
	expiry, ok := h.Expiry()
	if !ok {
		expiry = time.Now()
	}
	return &oauth2.Token{AccessToken: token, TokenType: scheme, Expiry: expiry}, nil
}
