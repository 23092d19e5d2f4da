// Package benchenv holds what every benchmark program in this module shares: the local
// identity provider's coordinates (as scripts/with-idp exports them), the settings both
// clients are given, and the JSON-lines result protocol of benches/README.md.
//
// It imports only the standard library, so a first-header program that uses it links
// nothing that the library under test would not link by itself.
package benchenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Settings given to every client (flyteauth and the Go admin client alike), matching the
// fixture's /config/v1/flyte_client.
const (
	// Audience is the token audience; with it the fixture issues JWT access tokens.
	Audience = "https://flyte.test/api"
	// Scope is the one scope requested.
	Scope = "all"
	// HeaderKey is the gRPC metadata key that carries the bearer token.
	HeaderKey = "flyte-authorization"
	// SecretEnvVar names the variable holding the client secret. Both clients read the
	// secret from it themselves (clientSecretEnvVar), so no program handles the secret.
	SecretEnvVar = "FLYTEAUTH_IDP_CLIENT_SECRET"
)

// IdP is the running fixture, as scripts/with-idp describes it.
type IdP struct {
	URL      string // e.g. http://127.0.0.1:40123
	Endpoint string // e.g. 127.0.0.1:40123
	ClientID string
	// Secret is the confidential client's secret. Never print it.
	Secret string
}

// TokenURL is the fixture's token endpoint.
func (i IdP) TokenURL() string { return i.URL + "/token" }

// FromEnv reads FLYTEAUTH_IDP_URL, FLYTEAUTH_IDP_ENDPOINT, FLYTEAUTH_IDP_CLIENT_ID and
// FLYTEAUTH_IDP_CLIENT_SECRET.
func FromEnv() (IdP, error) {
	i := IdP{
		URL:      strings.TrimRight(os.Getenv("FLYTEAUTH_IDP_URL"), "/"),
		Endpoint: os.Getenv("FLYTEAUTH_IDP_ENDPOINT"),
		ClientID: os.Getenv("FLYTEAUTH_IDP_CLIENT_ID"),
		Secret:   os.Getenv(SecretEnvVar),
	}
	if i.URL == "" || i.Endpoint == "" || i.ClientID == "" || i.Secret == "" {
		return i, errors.New("FLYTEAUTH_IDP_URL, FLYTEAUTH_IDP_ENDPOINT, FLYTEAUTH_IDP_CLIENT_ID and " +
			"FLYTEAUTH_IDP_CLIENT_SECRET must be set: run under scripts/with-idp")
	}
	return i, nil
}

// FlyteauthConfig is a flyteauth configuration (the admin: keys as JSON) for client
// credentials against the fixture with the same settings the Go admin client gets: token
// URL, scopes, audience and header key configured, so neither client asks for discovery.
func (i IdP) FlyteauthConfig() string {
	b, err := json.Marshal(map[string]any{
		"endpoint":            i.Endpoint,
		"insecure":            true,
		"authType":            "ClientSecret",
		"clientId":            i.ClientID,
		"clientSecretEnvVar":  SecretEnvVar,
		"tokenUrl":            i.TokenURL(),
		"scopes":              []string{Scope},
		"audience":            Audience,
		"authorizationHeader": HeaderKey,
	})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// Record is one result line. Kind, Impl, Lang and Label are common to every kind; the
// other fields are those of the kind (see benches/README.md).
type Record map[string]any

var appendMu sync.Mutex

// Append writes r as one JSON line to the file named by FLYTEAUTH_BENCH_RESULTS, if set.
func Append(r Record) error {
	path := os.Getenv("FLYTEAUTH_BENCH_RESULTS")
	if path == "" {
		return nil
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	appendMu.Lock()
	defer appendMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// One write of the whole line: with O_APPEND, concurrent writers do not interleave it.
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	return f.Close()
}
