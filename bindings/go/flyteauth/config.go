package flyteauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config is the typed form of the JSON configuration that [New] takes: the `admin:` keys of
// Flyte's config.yaml, plus the inline ClientSecret and a few flyteauth extensions. Its JSON
// encoding (encoding/json) is exactly that object, and [NewFromConfig] passes it to the
// library unchanged: the library, not this type, checks the values and applies the defaults.
//
// Every field is optional. A field left at its zero value is omitted from the JSON, so the
// library's default applies; the defaults below are the library's. Fields where zero is a
// meaningful value that differs from the default (MaxRetries, Interactive) are pointers: nil
// means the default. A zero [Duration] always means the default; to send an explicit "0",
// use [New] with JSON.
//
// The keys and their meaning are documented in the repository's README ("Configuration
// reference"); a test checks that the JSON names here are exactly the keys the library
// accepts (src/config.rs).
type Config struct {
	// Endpoint is flyteadmin's address, e.g. "dns:///flyte.example.com" ("dns:///" is
	// removed; "host:port" and "http(s)://..." work too). Discovery asks
	// https://<endpoint> (http:// when Insecure). Required unless the flow needs no
	// discovery (TokenURL, Scopes and AuthorizationHeader set for client credentials;
	// AuthorizationHeader for an external command).
	Endpoint string `json:"endpoint,omitempty"`
	// Insecure makes the library talk plain HTTP to the endpoint (no TLS). Default false.
	Insecure bool `json:"insecure,omitempty"`
	// InsecureSkipVerify turns off TLS certificate verification on every request. Never in
	// production. Default false.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// CACertFilePath is a PEM file of extra CA certificates, trusted on every HTTPS request.
	// Default: the system's roots only.
	CACertFilePath string `json:"caCertFilePath,omitempty"`
	// AuthType is the OAuth2 flow: one of the AuthType constants, or any of flytekit's
	// spellings. Default [AuthTypePkce]. A client secret from ClientSecretLocation or
	// ClientSecretEnvVar selects [AuthTypeClientSecret], as in flytekit.
	AuthType AuthType `json:"authType,omitempty"`
	// ClientID is the OAuth2 client id for [AuthTypeClientSecret] (required there). PKCE and
	// the device flow use the server's client id.
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret is the client secret, inline (a flyteauth extension to Flyte's keys).
	// Prefer ClientSecretLocation or ClientSecretEnvVar, which keep the secret out of the
	// program's configuration. Default none.
	ClientSecret Secret `json:"clientSecret,omitempty"`
	// ClientSecretLocation is a file holding the client secret (surrounding whitespace is
	// trimmed). A non-empty secret there selects [AuthTypeClientSecret]. Default none.
	ClientSecretLocation string `json:"clientSecretLocation,omitempty"`
	// ClientSecretEnvVar is the name of an environment variable holding the client secret;
	// it wins over ClientSecretLocation and selects [AuthTypeClientSecret] when set and
	// non-empty. Default none.
	ClientSecretEnvVar string `json:"clientSecretEnvVar,omitempty"`
	// Scopes are the scopes to request. Default: the server's (from its public client
	// config).
	Scopes []string `json:"scopes,omitempty"`
	// Audience is sent to the token endpoint as "audience". Default: the server's.
	Audience string `json:"audience,omitempty"`
	// UseAudienceFromAdmin uses the server's audience even when Audience is set. Default
	// false.
	UseAudienceFromAdmin bool `json:"useAudienceFromAdmin,omitempty"`
	// Resource holds RFC 8707 resource indicators (absolute URIs), sent as "resource" on the
	// authorization, device authorization and token requests alongside Audience, for IdPs
	// that implement resource rather than audience (flyteauth extension). Default none.
	Resource []string `json:"resource,omitempty"`
	// TokenURL is the token endpoint; setting it skips the server's
	// /.well-known/oauth-authorization-server. Default: discovered.
	TokenURL string `json:"tokenUrl,omitempty"`
	// AuthorizationHeader is the metadata key that carries the token. Default: the server's
	// authorization_metadata_key, else "authorization".
	AuthorizationHeader string `json:"authorizationHeader,omitempty"`
	// Command is the argv of a program that prints a token, for [AuthTypeExternalCommand]
	// (required there). It runs without a shell. Default none.
	Command []string `json:"command,omitempty"`
	// ProxyCommand is the argv of a program whose output goes in a "proxy-authorization:
	// Bearer <output>" header on every call and every request the library makes (e.g. for
	// GCP Identity-Aware Proxy). Default none.
	ProxyCommand []string `json:"proxyCommand,omitempty"`
	// HTTPProxyURL is an HTTP(S) proxy for every request the library makes. Default none.
	HTTPProxyURL string `json:"httpProxyURL,omitempty"`
	// PkceConfig configures the browser login ([AuthTypePkce]).
	PkceConfig PkceConfig `json:"pkceConfig,omitzero"`
	// DeviceFlowConfig configures the device authorization grant ([AuthTypeDeviceFlow]).
	DeviceFlowConfig DeviceFlowConfig `json:"deviceFlowConfig,omitzero"`
	// TokenRefreshWindow is how long before expiry a token is refreshed (never more than
	// half its lifetime). Default: 10% of the lifetime, at least 10s.
	TokenRefreshWindow Duration `json:"tokenRefreshWindow,omitempty"`
	// MaxRetries is the number of retries after the first attempt on connection errors,
	// timeouts, 5xx and 429. nil means the default, 4; point it at 0 for no retries.
	MaxRetries *int `json:"maxRetries,omitempty"`
	// PerRetryTimeout is the timeout of each HTTP attempt. Default 15s.
	PerRetryTimeout Duration `json:"perRetryTimeout,omitempty"`
	// MaxBackoffDelay is the longest wait between two attempts (jittered exponential backoff
	// from 200ms; Retry-After is honoured). Default 8s.
	MaxBackoffDelay Duration `json:"maxBackoffDelay,omitempty"`
	// CommandTimeout is how long Command and ProxyCommand may run before they are killed
	// (a flyteauth extension). Default 60s.
	CommandTimeout Duration `json:"commandTimeout,omitempty"`
	// Interactive says whether a person may be asked to log in (PKCE, device flow); when
	// false, a needed login is an error matching [ErrLoginRequired] instead of a prompt (a
	// flyteauth extension; see also [Authenticator.SetInteractive]). nil means the default,
	// true.
	Interactive *bool `json:"interactive,omitempty"`
	// TokenCache is where PKCE and device-flow tokens are kept (a flyteauth extension).
	// Default [TokenCacheKeyring].
	TokenCache TokenCache `json:"tokenCache,omitempty"`
	// KeyringLayouts names the keyring layouts a login or refresh is written in (a flyteauth
	// extension; both are always read). nil means both, [KeyringLayoutFlytekit] and
	// [KeyringLayoutFlytectl], so a login is shared with pyflyte and flytectl and a rotated
	// refresh token never stays behind, spent, in the other tool's item.
	KeyringLayouts []KeyringLayout `json:"keyringLayouts,omitempty"`
	// Discovery is how flyteadmin's AuthMetadataService is asked (a flyteauth extension).
	// Default [DiscoveryAuto].
	Discovery Discovery `json:"discovery,omitempty"`
}

// PkceConfig is Config.PkceConfig, the "pkceConfig" object: the browser login.
type PkceConfig struct {
	// Timeout is how long to wait for the browser login to complete. Default 2m.
	Timeout Duration `json:"timeout,omitempty"`
	// RefreshTime is accepted for compatibility with Flyte's config.yaml; Config's
	// TokenRefreshWindow governs refresh. Default 5m.
	RefreshTime Duration `json:"refreshTime,omitempty"`
}

// DeviceFlowConfig is Config.DeviceFlowConfig, the "deviceFlowConfig" object: the device
// authorization grant (RFC 8628).
type DeviceFlowConfig struct {
	// Timeout is the overall deadline of a device login (also bounded by the code's
	// expires_in). Default 10m.
	Timeout Duration `json:"timeout,omitempty"`
	// RefreshTime is accepted for compatibility with Flyte's config.yaml; Config's
	// TokenRefreshWindow governs refresh. Default 5m.
	RefreshTime Duration `json:"refreshTime,omitempty"`
	// PollInterval is the polling interval when the server sends none. Default 5s.
	PollInterval Duration `json:"pollInterval,omitempty"`
}

// AuthType is Config.AuthType, the OAuth2 flow. The library accepts the constants below and
// also, case-insensitively, flytekit's other spellings: "standard" (Pkce), "basic" and
// "client_credentials" (ClientSecret), "external_process" (ExternalCommand).
type AuthType string

// The flows, spelled as Flyte's Go client (flyteidl) writes them.
const (
	// AuthTypeClientSecret is OAuth2 client credentials: ClientID and a client secret.
	AuthTypeClientSecret AuthType = "ClientSecret"
	// AuthTypePkce is the authorization code flow with PKCE, in a browser (the default).
	AuthTypePkce AuthType = "Pkce"
	// AuthTypeExternalCommand takes the token a program (Command) prints.
	AuthTypeExternalCommand AuthType = "ExternalCommand"
	// AuthTypeDeviceFlow is the device authorization grant (RFC 8628): a person enters a
	// code on another device.
	AuthTypeDeviceFlow AuthType = "DeviceFlow"
)

// TokenCache is Config.TokenCache: where PKCE and device-flow tokens are kept.
type TokenCache string

const (
	// TokenCacheKeyring keeps tokens in the OS keyring (Secret Service on Linux), in
	// flytekit's and flytectl's layouts (see Config.KeyringLayouts), so a login is shared
	// with pyflyte and flytectl (the default).
	TokenCacheKeyring TokenCache = "keyring"
	// TokenCacheMemory keeps tokens in this process only.
	TokenCacheMemory TokenCache = "memory"
)

// KeyringLayout is an element of Config.KeyringLayouts: one tool's keyring layout.
type KeyringLayout string

const (
	// KeyringLayoutFlytekit is pyflyte's layout: service = the endpoint, users
	// access_token, refresh_token, id_token.
	KeyringLayoutFlytekit KeyringLayout = "flytekit"
	// KeyringLayoutFlytectl is flytectl's layout: service flytectl, user
	// "dns:///<endpoint>:flytectl-user", one JSON oauth2.Token.
	KeyringLayoutFlytectl KeyringLayout = "flytectl"
)

// Discovery is Config.Discovery: how flyteadmin's AuthMetadataService is asked. gRPC uses
// the same TLS, CA, proxy and proxy-authorization settings as HTTP (h2c with Insecure).
type Discovery string

const (
	// DiscoveryAuto asks the HTTP routes, then gRPC when they fail (404, a body that is not
	// the JSON document, no connection), for ingresses that route only gRPC to flyteadmin
	// (the default).
	DiscoveryAuto Discovery = "auto"
	// DiscoveryHTTP asks only the HTTP routes (/.well-known/oauth-authorization-server,
	// /config/v1/flyte_client).
	DiscoveryHTTP Discovery = "http"
	// DiscoveryGRPC asks only gRPC (flyteidl.service.AuthMetadataService), as flytekit and
	// flytectl do.
	DiscoveryGRPC Discovery = "grpc"
)

// Duration is a [time.Duration] encoded in JSON as Go writes it ("15s", "2m0s", "1h30m0s"),
// the form the library reads, e.g. flyteauth.Duration(2 * time.Minute).
type Duration time.Duration

// String returns the duration as [time.Duration.String] does, e.g. "2m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a JSON string such as "2m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON decodes a JSON string in [time.ParseDuration] syntax, e.g. "15s", as the
// library does (it takes no bare numbers).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`flyteauth: a duration must be a string such as "15s", "2m" or "500ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("flyteauth: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Secret is a credential in a Config (Config.ClientSecret). fmt (every verb, %#v included)
// and log/slog print it as "[REDACTED]", or "" when it is empty. encoding/json writes the
// value itself, because JSON is how the configuration reaches the library: don't log the
// output of json.Marshal of a Config (log/slog is safe: [Config.LogValue]).
type Secret string

const redacted = "[REDACTED]"

// String returns "[REDACTED]", or "" for an empty Secret. string(s) is the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format makes every fmt verb print [Secret.String].
func (s Secret) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, s.String())
}

// LogValue makes log/slog print [Secret.String].
func (s Secret) LogValue() slog.Value {
	return slog.StringValue(s.String())
}

// LogValue makes log/slog print c with its ClientSecret redacted, with any handler (the JSON
// handler would otherwise encode the secret).
func (c Config) LogValue() slog.Value {
	c.ClientSecret = Secret(c.ClientSecret.String())
	return slog.AnyValue(configForLog(c))
}

// configForLog is Config without its methods (LogValue would otherwise recurse).
type configForLog Config

// NewFromConfig creates an Authenticator from cfg: [New] with cfg's JSON encoding. Like New
// it does no network I/O, and the library checks the configuration completely: an invalid
// value is an error matching [ErrConfig] that names the key (and never contains a secret).
// In a build without cgo it returns an error matching [ErrUnsupported].
func NewFromConfig(cfg Config) (*Authenticator, error) {
	b, err := json.Marshal(cfg)
	if err != nil { // not expected: every field's encoding is infallible
		return nil, newError(ErrInvalidArgument, "invalid argument: the Config cannot be encoded as JSON: "+err.Error())
	}
	return New(string(b))
}
