//go:build cgo

package flyteauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

func mustNewFromConfig(t testing.TB, cfg flyteauth.Config) *flyteauth.Authenticator {
	t.Helper()
	a, err := flyteauth.NewFromConfig(cfg)
	if err != nil {
		t.Fatalf("NewFromConfig: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// writeCACert writes a self-signed CA certificate (PEM) to a file in dir.
func writeCACert(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flyteauth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// zeroFields lists the fields of v (a struct) left at their zero value, recursively.
func zeroFields(v reflect.Value, path string) []string {
	var zero []string
	for i := range v.NumField() {
		f, name := v.Field(i), path+v.Type().Field(i).Name
		switch {
		case f.IsZero():
			zero = append(zero, name)
		case f.Kind() == reflect.Struct:
			zero = append(zero, zeroFields(f, name+".")...)
		}
	}
	return zero
}

// A Config with every field set is accepted by the library, which rejects unknown keys (at
// every level, as the control below shows): so every json name of Config is a key the
// library takes, with a value of the type it wants.
func TestConfigEveryFieldIsAccepted(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	retries, interactive := 2, false
	cfg := flyteauth.Config{
		Endpoint:             "dns:///flyte.example.com",
		Insecure:             true,
		InsecureSkipVerify:   true,
		CACertFilePath:       writeCACert(t, dir),
		AuthType:             flyteauth.AuthTypeClientSecret,
		ClientID:             "my-app",
		ClientSecret:         "inline-secret",
		ClientSecretLocation: secretFile,
		ClientSecretEnvVar:   "FLYTEAUTH_TEST_UNSET_SECRET_VAR",
		Scopes:               []string{"all", "offline"},
		Audience:             "https://flyte.example.com/api",
		UseAudienceFromAdmin: true,
		Resource:             []string{"https://flyte.example.com/api"},
		TokenURL:             "https://idp.example.com/oauth2/token",
		AuthorizationHeader:  "flyte-authorization",
		Command:              []string{"echo", "tok"},
		ProxyCommand:         []string{"echo", "proxy"},
		HTTPProxyURL:         "http://proxy.example.com:3128",
		PkceConfig: flyteauth.PkceConfig{
			Timeout:     flyteauth.Duration(3 * time.Minute),
			RefreshTime: flyteauth.Duration(5 * time.Minute),
		},
		DeviceFlowConfig: flyteauth.DeviceFlowConfig{
			Timeout:      flyteauth.Duration(10 * time.Minute),
			RefreshTime:  flyteauth.Duration(5 * time.Minute),
			PollInterval: flyteauth.Duration(1500 * time.Millisecond),
		},
		TokenRefreshWindow: flyteauth.Duration(30 * time.Second),
		MaxRetries:         &retries,
		PerRetryTimeout:    flyteauth.Duration(10 * time.Second),
		MaxBackoffDelay:    flyteauth.Duration(2 * time.Second),
		CommandTimeout:     flyteauth.Duration(20 * time.Second),
		Interactive:        &interactive,
		TokenCache:         flyteauth.TokenCacheMemory,
		KeyringLayouts:     []flyteauth.KeyringLayout{flyteauth.KeyringLayoutFlytekit, flyteauth.KeyringLayoutFlytectl},
		Discovery:          flyteauth.DiscoveryGRPC,
	}
	// A field added to Config must be set here, or this test proves nothing about it.
	if zero := zeroFields(reflect.ValueOf(cfg), ""); len(zero) > 0 {
		t.Fatalf("set these fields in the test's Config: %v", zero)
	}
	a := mustNewFromConfig(t, cfg)
	if !a.Insecure() {
		t.Error("Insecure() = false for Insecure: true")
	}

	// The control: the same JSON with one unknown key, at the top or in a nested object, is
	// refused with the key's name.
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"notAKey"}, {"pkceConfig", "notAKey"}, {"deviceFlowConfig", "notAKey"}} {
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			t.Fatal(err)
		}
		m := obj
		for _, k := range path[:len(path)-1] {
			m = m[k].(map[string]any)
		}
		m[path[len(path)-1]] = "x"
		bad, _ := json.Marshal(obj)
		_, err := flyteauth.New(string(bad))
		if !errors.Is(err, flyteauth.ErrConfig) || !strings.Contains(err.Error(), "notAKey") {
			t.Errorf("the library accepted an unknown key at %v (%v): this test would not see a wrong json name", path, err)
		}
		if err != nil && (strings.Contains(err.Error(), "inline-secret") || strings.Contains(err.Error(), "file-secret")) {
			t.Errorf("the error contains a secret")
		}
	}
}

// jsonNames is the json names of the fields of struct type ty.
func jsonNames(ty reflect.Type) []string {
	var names []string
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// The keys the library itself lists when it refuses an unknown one (serde's "unknown field
// `x`, expected one of `a`, `b`, ...") are Config's json names plus ignoredKeys, at each
// level. This asks the linked library, so it holds whatever shape src/config.rs takes (the
// source check, TestConfigKeysMatchTheRustParser, also tells used keys from ignored ones).
func TestConfigKeysMatchTheLibrary(t *testing.T) {
	expected := regexp.MustCompile("unknown field `notAKey`, expected (?:one of )?((?:`\\w+`(?:, | or )?)+)$")
	name := regexp.MustCompile("`(\\w+)`")
	for _, tc := range []struct {
		json string
		ty   reflect.Type
		also []string
	}{
		{`{"notAKey": 1}`, reflect.TypeFor[flyteauth.Config](), ignoredKeys},
		{`{"pkceConfig": {"notAKey": 1}}`, reflect.TypeFor[flyteauth.PkceConfig](), nil},
		{`{"deviceFlowConfig": {"notAKey": 1}}`, reflect.TypeFor[flyteauth.DeviceFlowConfig](), nil},
	} {
		_, err := flyteauth.New(tc.json)
		var fe *flyteauth.Error
		if !errors.As(err, &fe) {
			t.Fatalf("New(%s) = %v; want a configuration error", tc.json, err)
		}
		m := expected.FindStringSubmatch(fe.Message)
		if m == nil {
			t.Fatalf("New(%s): the message %q does not list the expected keys as this test reads them; update the test", tc.json, fe.Message)
		}
		var library []string
		for _, k := range name.FindAllStringSubmatch(m[1], -1) {
			library = append(library, k[1])
		}
		sort.Strings(library)
		want := append(jsonNames(tc.ty), tc.also...)
		sort.Strings(want)
		if !slices.Equal(library, want) {
			t.Errorf("%s: the library accepts %v; %s's json names (+ ignoredKeys) are %v", tc.ty.Name(), library, tc.ty.Name(), want)
		}
	}
}

// Every AuthType and TokenCache constant is a value the library accepts.
func TestConfigConstantsAreAccepted(t *testing.T) {
	for _, at := range []flyteauth.AuthType{flyteauth.AuthTypeClientSecret, flyteauth.AuthTypePkce,
		flyteauth.AuthTypeExternalCommand, flyteauth.AuthTypeDeviceFlow, "client_credentials", "STANDARD"} {
		for _, tc := range []flyteauth.TokenCache{flyteauth.TokenCacheKeyring, flyteauth.TokenCacheMemory} {
			_, err := flyteauth.NewFromConfig(flyteauth.Config{
				Endpoint: "dns:///flyte.example.com", AuthType: at, TokenCache: tc,
				ClientID: "my-app", ClientSecret: "s", Command: []string{"echo", "tok"},
			})
			if err != nil {
				t.Errorf("AuthType %q, TokenCache %q: %v", at, tc, err)
			}
		}
	}
}

// Every Discovery constant is a value the library accepts.
func TestDiscoveryConstantsAreAccepted(t *testing.T) {
	for _, d := range []flyteauth.Discovery{flyteauth.DiscoveryAuto, flyteauth.DiscoveryHTTP, flyteauth.DiscoveryGRPC} {
		if _, err := flyteauth.NewFromConfig(flyteauth.Config{Endpoint: "dns:///flyte.example.com", Discovery: d}); err != nil {
			t.Errorf("Discovery %q: %v", d, err)
		}
	}
}

// A wrong value is the library's configuration error naming the key, without the secret.
func TestConfigErrors(t *testing.T) {
	const secret = "inline-secret-81f3c2"
	negative := -1
	for _, tc := range []struct {
		cfg  flyteauth.Config
		want string
	}{
		{flyteauth.Config{Endpoint: "flyte.example.com", AuthType: "password"}, "authType"},
		{flyteauth.Config{AuthType: flyteauth.AuthTypeClientSecret, ClientSecret: secret, Endpoint: "flyte.example.com"}, "clientId"},
		{flyteauth.Config{AuthType: flyteauth.AuthTypeClientSecret, ClientID: "a", ClientSecret: secret, TokenURL: "ftp://idp/token"}, "tokenUrl"},
		{flyteauth.Config{Endpoint: "flyte.example.com", PerRetryTimeout: flyteauth.Duration(-time.Second)}, "perRetryTimeout"},
		{flyteauth.Config{Endpoint: "flyte.example.com", DeviceFlowConfig: flyteauth.DeviceFlowConfig{PollInterval: -1}}, "deviceFlowConfig.pollInterval"},
		{flyteauth.Config{Endpoint: "flyte.example.com", TokenCache: "disk"}, "tokenCache"},
		{flyteauth.Config{Endpoint: "flyte.example.com", Discovery: "carrier-pigeon"}, "discovery"},
		{flyteauth.Config{Endpoint: "flyte.example.com", MaxRetries: &negative}, "maxRetries"},
	} {
		a, err := flyteauth.NewFromConfig(tc.cfg)
		if a != nil || !errors.Is(err, flyteauth.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewFromConfig(%+v) = %v; want a configuration error naming %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error contains the secret")
		}
	}
}

// Client credentials configured with a Config get a token from the real identity provider,
// with the secret inline or from the variable ClientSecretEnvVar names.
func TestConfigClientCredentials(t *testing.T) {
	idp := idptest.Start(t)
	base := flyteauth.Config{
		Endpoint:        "dns:///" + idp.Endpoint,
		Insecure:        true,
		AuthType:        flyteauth.AuthTypeClientSecret,
		ClientID:        idptest.ClientID,
		PerRetryTimeout: flyteauth.Duration(10 * time.Second),
		TokenCache:      flyteauth.TokenCacheMemory,
	}
	inline := base
	inline.ClientSecret = idptest.ClientSecret
	fromEnv := base
	fromEnv.AuthType = "" // the secret from the variable selects ClientSecret, as in flytekit
	fromEnv.ClientSecretEnvVar = "FLYTEAUTH_TEST_CLIENT_SECRET"
	t.Setenv(fromEnv.ClientSecretEnvVar, idptest.ClientSecret)

	for i, cfg := range []flyteauth.Config{inline, fromEnv} {
		idp.Reset(t)
		a := mustNewFromConfig(t, cfg)
		authValue(t, mustMetadata(t, a))
		authValue(t, mustMetadata(t, a)) // cached
		if got := idp.Stats(t).ClientCredentials(); got != 1 {
			t.Errorf("config %d: %d client_credentials token requests, want 1", i, got)
		}
	}

	wrong := base
	wrong.ClientSecret = "wrong-secret-5d0b7a"
	a := mustNewFromConfig(t, wrong)
	_, err := a.Metadata(context.Background())
	if !errors.Is(err, flyteauth.ErrAuthentication) || strings.Contains(err.Error(), string(wrong.ClientSecret)) {
		t.Errorf("a wrong secret: want an authentication error without the secret, got %v", err)
	}
}
