// Package adminclient configures Flyte's Go admin client
// (github.com/flyteorg/flyte/flyteidl/clients/go/admin) the way a user of it would for
// client credentials against the local identity provider fixture.
package adminclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/flyteorg/flyte/flyteidl/clients/go/admin"
	stdconfig "github.com/flyteorg/flyte/flytestdlib/config"
	"github.com/flyteorg/flyte/flytestdlib/logger"

	"github.com/flyteorg/flyteauth/benches/go/internal/benchenv"
)

// Config returns the admin client's configuration: the library's registered defaults
// (admin.GetConfig: retries, backoff, timeouts) with AuthType ClientSecret, the client id,
// the secret from the environment variable benchenv.SecretEnvVar, the fixture's token URL,
// scopes ["all"], the audience, the flyte-authorization header and an insecure endpoint.
//
// endpoint is the gRPC server (host:port) the client talks to. With the token URL, the
// scopes and the header key set, the client makes no AuthMetadataService calls.
func Config(ctx context.Context, idp benchenv.IdP, endpoint string) (*admin.Config, error) {
	def := admin.GetConfig(ctx)
	if def == nil {
		return nil, errors.New("the admin client has no registered default configuration")
	}
	u, err := url.Parse("dns:///" + endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	cfg := *def
	cfg.Endpoint = stdconfig.URL{URL: *u}
	cfg.UseInsecureConnection = true
	cfg.AuthType = admin.AuthTypeClientSecret
	cfg.ClientID = idp.ClientID
	cfg.ClientSecretEnvVar = benchenv.SecretEnvVar
	cfg.TokenURL = idp.TokenURL()
	cfg.Scopes = []string{benchenv.Scope}
	cfg.Audience = benchenv.Audience
	cfg.AuthorizationHeader = benchenv.HeaderKey
	return &cfg, nil
}

// UseDefaultLogging applies flytestdlib's default logger configuration (level warn, JSON
// lines on stderr), which every Flyte program that loads its configuration through
// flytestdlib runs with. Without it, logrus's own default (level info) stays in effect and
// the client logs a line on every token lookup.
func UseDefaultLogging() error {
	c := *logger.GetConfig()
	return logger.SetConfig(&c)
}
