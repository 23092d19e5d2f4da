package oauth2auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/oauth2auth"
)

func newAuth(t *testing.T, config string) *flyteauth.Authenticator {
	t.Helper()
	a, err := flyteauth.New(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func TestTokenSource(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	ctx := context.Background()
	ts := oauth2auth.TokenSource(ctx, a)
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	md, err := a.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type() != "Bearer" || "Bearer "+tok.AccessToken != md[idptest.AuthKey] {
		t.Errorf("the token is not the Authenticator's (%s)", idptest.Redact(tok.Type()+" "+tok.AccessToken))
	}
	// The fixture issues JWTs valid for 300 s.
	if left := time.Until(tok.Expiry); left < 250*time.Second || left > 301*time.Second || !tok.Valid() {
		t.Errorf("Expiry in %v, Valid() = %v; want about 300 s from now and valid", left, tok.Valid())
	}

	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tok2, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken == tok.AccessToken {
		t.Error("the token source did not follow a refresh")
	}
}

// An opaque token: its expiry is unknown, so a ReuseTokenSource around the view must ask the
// view again every time.
func TestOpaqueTokenExpiresAtOnce(t *testing.T) {
	a := newAuth(t, `{"authType": "ExternalCommand", "command": ["echo", "opaque"], "authorizationHeader": "authorization"}`)
	reuse := oauth2.ReuseTokenSource(nil, oauth2auth.TokenSource(context.Background(), a))
	tok, err := reuse.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "opaque" || tok.Expiry.IsZero() || tok.Expiry.After(time.Now()) {
		t.Errorf("got %s expiring at %v; want the token, expiring now", idptest.Redact(tok.AccessToken), tok.Expiry)
	}
}

func TestOAuth2Client(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials(idptest.ClientSecret))
	want, err := a.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want[idptest.AuthKey] {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	client := oauth2.NewClient(context.Background(), oauth2auth.TokenSource(context.Background(), a))
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d; want 200", resp.StatusCode)
		}
	}
}

func TestErrorsPassThrough(t *testing.T) {
	idp := idptest.Start(t)
	a := newAuth(t, idp.ClientCredentials("wrong-secret"))
	if _, err := oauth2auth.TokenSource(context.Background(), a).Token(); !errors.Is(err, flyteauth.ErrAuthentication) {
		t.Errorf("got %v; want ErrAuthentication", err)
	}
}
