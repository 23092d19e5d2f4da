// Command first-header-flyteauth is the Go binding's first-header program (benches/README.md
// "First-header programs"): a fresh process creates a flyteauth Authenticator for client
// credentials against the fixture (the same configuration as benches/c/first_header.c:
// endpoint, insecure, clientId and the secret; token endpoint, scopes, audience and header
// key come from discovery), obtains the header metadata for a first call and exits 0. It
// prints nothing on success and never prints the header.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"

	"github.com/flyteorg/flyteauth/benches/go/internal/benchenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "first-header-flyteauth:", err)
		os.Exit(1)
	}
}

func run() error {
	idp, err := benchenv.FromEnv()
	if err != nil {
		return err
	}
	config, err := json.Marshal(map[string]any{
		"endpoint":     idp.Endpoint,
		"insecure":     true,
		"authType":     "ClientSecret",
		"clientId":     idp.ClientID,
		"clientSecret": idp.Secret,
	})
	if err != nil {
		return err
	}
	// FLYTEAUTH_BENCH_CONFIG: the whole configuration, when the benchmark driver sets it
	// (e.g. with tokenUrl and scopes, so there is no discovery, like the admin client's).
	if given := os.Getenv("FLYTEAUTH_BENCH_CONFIG"); given != "" {
		config = []byte(given)
	}
	auth, err := flyteauth.New(string(config))
	if err != nil {
		return err
	}
	defer auth.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := auth.Metadata(ctx)
	if err != nil {
		return err
	}
	if len(md) == 0 {
		return fmt.Errorf("no header metadata")
	}
	return nil
}
