// Command first-header-flyteidl-go is the Go admin client's first-header program
// (benches/README.md "First-header programs"): a fresh process configures
// github.com/flyteorg/flyte/flyteidl/clients/go/admin for client credentials (token URL,
// scopes ["all"], audience and header key configured, the secret from an environment
// variable) and obtains the header for a first call with the least machinery the library
// offers: its token source provider (admin.NewTokenSourceProvider, the one its auth
// interceptor builds), materialized into per-RPC credentials (admin.MaterializeCredentials),
// whose GetRequestMetadata gives the header. No gRPC connection is made: with the token URL
// and scopes configured, the library needs no AuthMetadataService. It prints nothing on
// success and never prints the header.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/flyteorg/flyte/flyteidl/clients/go/admin"
	"github.com/flyteorg/flyte/flyteidl/clients/go/admin/cache"

	"github.com/flyteorg/flyteauth/benches/go/internal/adminclient"
	"github.com/flyteorg/flyteauth/benches/go/internal/benchenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "first-header-flyteidl-go:", err)
		os.Exit(1)
	}
}

func run() error {
	idp, err := benchenv.FromEnv()
	if err != nil {
		return err
	}
	if err := adminclient.UseDefaultLogging(); err != nil {
		return err
	}
	ctx := context.Background()
	// The endpoint is never dialled here; it only has to be valid.
	cfg, err := adminclient.Config(ctx, idp, idp.Endpoint)
	if err != nil {
		return err
	}
	// No AuthMetadataServiceClient: with TokenURL and Scopes set the provider never calls it.
	provider, err := admin.NewTokenSourceProvider(ctx, cfg, cache.NewTokenCacheInMemoryProvider(), nil)
	if err != nil {
		return err
	}
	ts, err := provider.GetTokenSource(ctx)
	if err != nil {
		return err
	}
	creds := admin.NewPerRPCCredentialsFuture()
	if err := admin.MaterializeCredentials(ts, cfg, cfg.AuthorizationHeader, creds); err != nil {
		return err
	}
	md, err := creds.GetRequestMetadata(ctx)
	if err != nil {
		return err
	}
	if md[benchenv.HeaderKey] == "" {
		return fmt.Errorf("no %s header", benchenv.HeaderKey)
	}
	return nil
}
