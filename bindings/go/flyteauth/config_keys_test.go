package flyteauth_test

// Tests of Config that need no native library (they run in the CGO_ENABLED=0 suite too).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

// ignoredKeys are the keys the parser accepts only so that an existing config.yaml loads (the
// Go client's gRPC settings, `#[allow(dead_code)]` in src/config.rs): Config leaves them out
// on purpose, since setting them would do nothing. TestConfigKeysMatchTheRustParser checks
// that this list is exactly the parser's accepted-but-unused keys, so if the library starts
// using one, the test says to add a field.
var ignoredKeys = []string{"authorizationServerUrl", "defaultServiceConfig", "maxMessageSizeBytes", "useAuth"}

// configRS is the library's config parser, src/config.rs, found from this file's path
// (bindings/go/flyteauth/config_keys_test.go -> the repository root).
func configRS(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "src", "config.rs")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the key check reads the Rust parser from the repository: %v", err)
	}
	return string(b)
}

// rustField is one key of a serde struct of src/config.rs.
type rustField struct {
	ignored bool   // #[allow(dead_code)]: accepted, never read
	nested  string // the Raw* struct of an object-valued key, else ""
}

var (
	rustFieldLine = regexp.MustCompile(`^(\w+):\s*(.+),$`)
	rustRename    = regexp.MustCompile(`^#\[serde\(rename = "([^"]+)"\)\]$`)
	rustNested    = regexp.MustCompile(`\b(Raw\w+)\b`)
)

// rustKeys reads the JSON keys of the serde struct `name` in src: the field names in
// camelCase (the struct must say rename_all = "camelCase" and deny_unknown_fields), or their
// #[serde(rename = "...")]. It fails on any other serde attribute, e.g. an alias or flatten,
// which would change the accepted keys in a way this reader does not follow: teach it then.
func rustKeys(t *testing.T, src, name string) map[string]rustField {
	t.Helper()
	re := regexp.MustCompile(`(?s)#\[serde\(([^\]]*)\)\]\s*struct ` + name + ` \{\n(.*?)\n\}`)
	m := re.FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("src/config.rs: no `#[serde(...)] struct %s { ... }`: the Rust parser changed shape; update this test", name)
	}
	if m[1] != `deny_unknown_fields, rename_all = "camelCase"` {
		t.Fatalf("src/config.rs: struct %s has #[serde(%s)], want deny_unknown_fields and rename_all camelCase; update this test", name, m[1])
	}
	keys := map[string]rustField{}
	var rename string
	var ignored bool
	for _, line := range strings.Split(m[2], "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "//"):
		case rustRename.MatchString(line):
			rename = rustRename.FindStringSubmatch(line)[1]
		case line == "#[allow(dead_code)]":
			ignored = true
		case strings.HasPrefix(line, "#[serde"):
			t.Fatalf("src/config.rs: struct %s: attribute %s is not understood by this test; teach it", name, line)
		case strings.HasPrefix(line, "#["):
		case rustFieldLine.MatchString(line):
			f := rustFieldLine.FindStringSubmatch(line)
			key := rename
			if key == "" {
				key = camelCase(f[1])
			}
			var nested string
			if n := rustNested.FindStringSubmatch(f[2]); n != nil {
				nested = n[1]
			}
			keys[key] = rustField{ignored: ignored, nested: nested}
			rename, ignored = "", false
		default:
			t.Fatalf("src/config.rs: struct %s: line %q is not understood by this test; teach it", name, line)
		}
	}
	return keys
}

// camelCase is serde's rename_all = "camelCase" for a snake_case field name.
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// goKeys is the json tags of struct type ty; it fails on a field without omitempty or
// omitzero (an unset field must fall back to the library's default).
func goKeys(t *testing.T, ty reflect.Type) map[string]reflect.Type {
	t.Helper()
	keys := map[string]reflect.Type{}
	for i := range ty.NumField() {
		f := ty.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s has no json name", ty.Name(), f.Name)
			continue
		}
		if o := strings.Split(opts, ","); !slices.Contains(o, "omitempty") && !slices.Contains(o, "omitzero") {
			t.Errorf("%s.%s (%q) lacks omitempty/omitzero: its zero value would override the library's default", ty.Name(), f.Name, name)
		}
		keys[name] = f.Type
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// compareKeys checks that Go struct ty has a field for every key of Rust struct rust that the
// library uses, and nothing else, recursing into nested objects; it returns the ignored keys.
func compareKeys(t *testing.T, src, rust string, ty reflect.Type, path string) []string {
	t.Helper()
	rk := rustKeys(t, src, rust)
	gk := goKeys(t, ty)
	var ignored []string
	for _, key := range sortedKeys(rk) {
		rf := rk[key]
		if rf.ignored {
			ignored = append(ignored, path+key)
			if _, ok := gk[key]; ok {
				t.Errorf("%s has a field for %q, which the library accepts but ignores", ty.Name(), path+key)
			}
			continue
		}
		gt, ok := gk[key]
		if !ok {
			t.Errorf("the library accepts %q (src/config.rs, struct %s), but %s has no field with that json name", path+key, rust, ty.Name())
			continue
		}
		if rf.nested != "" {
			if gt.Kind() != reflect.Struct {
				t.Errorf("%q is an object in the library, but %s's field is a %s", path+key, ty.Name(), gt)
				continue
			}
			ignored = append(ignored, compareKeys(t, src, rf.nested, gt, path+key+".")...)
		}
	}
	for _, key := range sortedKeys(gk) {
		if _, ok := rk[key]; !ok {
			t.Errorf("%s has a field with json name %q, which the library does not accept (src/config.rs, struct %s)", ty.Name(), path+key, rust)
		}
	}
	return ignored
}

// The JSON names of Config are exactly the keys the library's parser accepts (and uses).
// The parser is serde with deny_unknown_fields over the structs RawConfig, RawPkceConfig and
// RawDeviceFlowConfig of src/config.rs, which this test reads: it has no other list of keys.
// TestConfigEveryFieldIsAccepted checks the same against the library itself.
func TestConfigKeysMatchTheRustParser(t *testing.T) {
	src := configRS(t)
	// Guard the reader itself: it must see keys of each kind (renamed, nested, ignored).
	rk := rustKeys(t, src, "RawConfig")
	if len(rk) < 25 {
		t.Fatalf("the reader of src/config.rs found only %v", sortedKeys(rk))
	}
	if _, ok := rk["httpProxyURL"]; !ok {
		t.Fatalf("the reader of src/config.rs missed the renamed key httpProxyURL: %v", sortedKeys(rk))
	}
	if rk["pkceConfig"].nested != "RawPkceConfig" || rk["deviceFlowConfig"].nested != "RawDeviceFlowConfig" {
		t.Fatalf("the reader of src/config.rs missed the nested objects: %+v", rk)
	}

	ignored := compareKeys(t, src, "RawConfig", reflect.TypeFor[flyteauth.Config](), "")
	if !slices.Equal(ignored, ignoredKeys) {
		t.Errorf("the keys the library accepts but ignores are %v; this test lists %v (ignoredKeys): "+
			"list a new ignored key there, or add a Config field for a key the library now uses", ignored, ignoredKeys)
	}
}

// The AuthType constants are the library's canonical names (AuthType::as_str in
// src/config.rs), one per flow, each also one of flytekit's spellings (AuthType::SPELLINGS).
func TestAuthTypeConstantsMatchTheRustParser(t *testing.T) {
	src := configRS(t)
	body := regexp.MustCompile(`(?s)pub fn as_str\(self\) -> &'static str \{(.*?)\n    \}`).FindStringSubmatch(src)
	if body == nil {
		t.Fatal("src/config.rs: no AuthType::as_str; update this test")
	}
	var rust []string
	for _, m := range regexp.MustCompile(`AuthType::\w+ => "([^"]+)"`).FindAllStringSubmatch(body[1], -1) {
		rust = append(rust, m[1])
	}
	spellings := regexp.MustCompile(`(?s)pub const SPELLINGS: \[&'static str; \d+\] = \[(.*?)\];`).FindStringSubmatch(src)
	if spellings == nil {
		t.Fatal("src/config.rs: no AuthType::SPELLINGS; update this test")
	}
	goNames := []string{
		string(flyteauth.AuthTypeClientSecret), string(flyteauth.AuthTypePkce),
		string(flyteauth.AuthTypeExternalCommand), string(flyteauth.AuthTypeDeviceFlow),
	}
	for _, n := range goNames {
		if !strings.Contains(spellings[1], `"`+n+`"`) {
			t.Errorf("AuthType %q is not one of the library's spellings %s", n, spellings[1])
		}
	}
	sort.Strings(rust)
	sort.Strings(goNames)
	if !slices.Equal(rust, goNames) {
		t.Errorf("the library's flows are %v, the AuthType constants %v", rust, goNames)
	}
}

func TestConfigJSON(t *testing.T) {
	if b, err := json.Marshal(flyteauth.Config{}); err != nil || string(b) != "{}" {
		t.Errorf("the zero Config encodes as %s, %v; want {} (every default is the library's)", b, err)
	}
	retries, interactive := 0, false
	cfg := flyteauth.Config{
		AuthType:        flyteauth.AuthTypeDeviceFlow,
		MaxRetries:      &retries,
		Interactive:     &interactive,
		PerRetryTimeout: flyteauth.Duration(1500 * time.Millisecond),
		DeviceFlowConfig: flyteauth.DeviceFlowConfig{
			Timeout: flyteauth.Duration(90 * time.Minute), PollInterval: flyteauth.Duration(time.Second),
		},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"authType":"DeviceFlow","deviceFlowConfig":{"timeout":"1h30m0s","pollInterval":"1s"},` +
		`"maxRetries":0,"perRetryTimeout":"1.5s","interactive":false}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back flyteauth.Config
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	var d flyteauth.Duration
	if err := json.Unmarshal([]byte(`"2m"`), &d); err != nil || d != flyteauth.Duration(2*time.Minute) || d.String() != "2m0s" {
		t.Errorf(`"2m" decodes as %v, %v`, d, err)
	}
	if err := json.Unmarshal([]byte(`120`), &d); err == nil {
		t.Error("a bare number decodes as a Duration; the library takes strings only")
	}
	if err := json.Unmarshal([]byte(`"2 minutes"`), &d); err == nil {
		t.Error(`"2 minutes" decodes as a Duration`)
	}
}

// A Secret never shows in fmt or log/slog output, alone or inside a Config.
func TestSecretIsRedacted(t *testing.T) {
	const value = "s3cret-7f1d9e"
	s := flyteauth.Secret(value)
	cfg := flyteauth.Config{ClientID: "app", ClientSecret: s}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		fmt.Fprintf(&out, verb+"|", s)
		fmt.Fprintf(&out, verb+"|", cfg)
		fmt.Fprintf(&out, verb+"|", &cfg)
		fmt.Fprintf(&out, verb+"|", []flyteauth.Secret{s})
	}
	fmt.Fprint(&out, s, cfg)
	fmt.Fprintln(&out, s, cfg)
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		slog.New(h).Info("config", "secret", s, slog.Any("any", s), "config", cfg)
	}
	if strings.Contains(out.String(), value) || strings.Contains(out.String(), fmt.Sprintf("%x", value)) {
		t.Fatalf("the secret is printed: %s", out.String())
	}
	if !strings.Contains(out.String(), "[REDACTED]") {
		t.Errorf("no [REDACTED] in %s", out.String())
	}
	if got := flyteauth.Secret("").String(); got != "" {
		t.Errorf("an empty Secret prints %q", got)
	}
	// The JSON carries the value: it is how the configuration reaches the library.
	if b, _ := json.Marshal(cfg); !strings.Contains(string(b), `"clientSecret":"`+value+`"`) {
		t.Errorf("the JSON encoding lacks the secret: %d bytes", len(b))
	}
}
