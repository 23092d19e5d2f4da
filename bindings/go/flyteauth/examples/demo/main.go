// Command demo creates an authenticator, fetches the header metadata for a call and prints
// it, like the C demo (examples/c/demo.c):
//
//	demo                      config from the environment (as `make demo` / scripts/with-idp
//	                          set it up): FLYTEAUTH_IDP_ENDPOINT, FLYTEAUTH_IDP_CLIENT_ID and
//	                          FLYTEAUTH_IDP_CLIENT_SECRET, client credentials, insecure
//	demo path/to/config.yaml  Flyte's config file (and the FLYTE_* environment overrides)
//
// Header values are credentials: the demo prints only their first characters.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

func main() {
	os.Exit(run())
}

func run() int {
	auth, err := newAuthenticator()
	if errors.Is(err, errUsage) {
		fmt.Fprintf(os.Stderr, "usage: %s [config.yaml]  (or run it through scripts/with-idp)\n", os.Args[0])
		return 2
	}
	if err != nil {
		return fail("creating the authenticator", err)
	}
	defer auth.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := auth.Metadata(ctx)
	if err != nil {
		return fail("fetching the header metadata", err)
	}
	fmt.Printf("flyteauth %s (Go): header metadata for a call\n", flyteauth.Version())
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys) // e.g. flyte-authorization, then proxy-authorization
	for _, k := range keys {
		v := md[k]
		fmt.Printf("  %s: %.20s... (%d chars)\n", k, v, len(v))
	}
	return 0
}

var errUsage = errors.New("no configuration")

func newAuthenticator() (*flyteauth.Authenticator, error) {
	if len(os.Args) > 1 {
		return flyteauth.FromFlyteConfig(os.Args[1])
	}
	endpoint := os.Getenv("FLYTEAUTH_IDP_ENDPOINT")
	id := os.Getenv("FLYTEAUTH_IDP_CLIENT_ID")
	secret := os.Getenv("FLYTEAUTH_IDP_CLIENT_SECRET")
	if endpoint == "" || id == "" || secret == "" {
		return nil, errUsage
	}
	config, err := json.Marshal(map[string]any{
		"endpoint": endpoint, "insecure": true, "authType": "ClientSecret",
		"clientId": id, "clientSecret": secret,
	})
	if err != nil {
		return nil, err
	}
	return flyteauth.New(string(config))
}

func fail(what string, err error) int {
	fmt.Fprintf(os.Stderr, "%s failed: %v\n", what, err)
	var fe *flyteauth.Error
	if errors.As(err, &fe) && fe.OAuthError != "" {
		fmt.Fprintf(os.Stderr, "  OAuth error: %s (HTTP %d)\n", fe.OAuthError, fe.HTTPStatus)
	}
	return 1
}
