// Package idptest starts the repository's real identity provider (tests/fixtures/idp,
// node-oidc-provider) for the binding's tests: one `node server.js` per call, on an
// ephemeral loopback port, killed when the test (or the test binary) ends.
package idptest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fixture's confidential client and the values its Flyte client config serves.
const (
	ClientID     = "test-confidential"
	ClientSecret = "test-secret"
	AuthKey      = "flyte-authorization" // authorization_metadata_key in /config/v1/flyte_client
	Audience     = "https://flyte.test/api"
)

// IdP is a running fixture.
type IdP struct {
	// URL is the issuer and Flyte endpoint base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Endpoint is the Flyte "endpoint" for it, e.g. 127.0.0.1:40123 (with "insecure": true).
	Endpoint string
	// Port is the listening port.
	Port int

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{} // closed when the process has exited
	stopped atomic.Bool   // Stop was called
}

// Dir is the fixture's directory: $FLYTEAUTH_IDP_FIXTURE, else tests/fixtures/idp in the
// repository that contains this package.
func Dir() string {
	if d := os.Getenv("FLYTEAUTH_IDP_FIXTURE"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	// bindings/go/flyteauth/internal/idptest/idptest.go -> repository root
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "..", "tests", "fixtures", "idp")
}

// Start starts a fixture with extra environment ("IDP_ACCESS_TOKEN_TTL=12", ...; see the
// fixture's README) and stops it when tb ends. It fails tb if the fixture cannot start.
func Start(tb testing.TB, env ...string) *IdP {
	tb.Helper()
	p, err := Launch(env...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// Launch starts a fixture; the caller must Stop it (for TestMain and benchmarks).
//
// A start that prints no ready line within 6 s is retried (twice): node 20.20 sometimes
// deadlocks while the fixture generates its RSA signing key (the main thread waits forever
// on a mutex in KeyGenJob's destructor, run by a V8 garbage collection inside
// KeyObjectHandle::ExportJWK), about once in 50 starts on a busy 2-core machine.
func Launch(env ...string) (*IdP, error) {
	var err error
	for range 3 {
		var p *IdP
		if p, err = launch(env); err == nil {
			return p, nil
		}
		if !errors.Is(err, errNoReadyLine) {
			break
		}
		fmt.Fprintf(os.Stderr, "idptest: retrying: %v\n", err)
	}
	return nil, err
}

var errNoReadyLine = errors.New("no ready line within 6 s")

func launch(env []string) (*IdP, error) {
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		return nil, fmt.Errorf("the IdP fixture is not installed: run `npm ci` in %s (bindings/go/test.sh does it)", dir)
	}
	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDP_PORT=0", "IDP_HOST=127.0.0.1", "IDP_EXIT_WITH_STDIN=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the IdP fixture (is Node.js installed?): %w", err)
	}
	p := &IdP{cmd: cmd, stdin: stdin}
	ready := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err == nil {
			var msg struct {
				Ready bool   `json:"ready"`
				URL   string `json:"issuer"`
				Port  int    `json:"port"`
			}
			if err = json.Unmarshal([]byte(line), &msg); err == nil && (!msg.Ready || msg.Port == 0) {
				err = errors.New("unexpected ready line")
			}
			p.URL, p.Port = msg.URL, msg.Port
		}
		ready <- err
		_, _ = io.Copy(io.Discard, r) // never let the fixture block on a full pipe
	}()
	select {
	case err = <-ready:
	case <-time.After(6 * time.Second):
		err = fmt.Errorf("%w (%s)", errNoReadyLine, diagnose(cmd.Process.Pid))
	}
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("the IdP fixture did not start: %w", err)
	}
	p.Endpoint = fmt.Sprintf("127.0.0.1:%d", p.Port)
	p.exited = make(chan struct{})
	go func() {
		err := cmd.Wait()
		if !p.stopped.Load() {
			fmt.Fprintf(os.Stderr, "idptest: the fixture on port %d exited unexpectedly: %v\n", p.Port, err)
		}
		close(p.exited)
	}()
	return p, nil
}

// Stop kills the fixture and waits for it. Safe to call more than once.
func (p *IdP) Stop() {
	if p.stopped.Swap(true) {
		return
	}
	_ = p.stdin.Close()
	_ = p.cmd.Process.Kill()
	if p.exited != nil {
		<-p.exited
	} else { // not started: launch failed before the watcher
		_ = p.cmd.Wait()
	}
}

// ClientCredentials is the JSON config for the confidential client with secret (discovery
// through the fixture's Flyte endpoints, plain HTTP).
func (p *IdP) ClientCredentials(secret string) string {
	return p.Config(map[string]any{"clientSecret": secret})
}

// Config is the JSON config for the confidential client with client credentials, with extra
// keys added or replaced.
func (p *IdP) Config(extra map[string]any) string {
	cfg := map[string]any{
		"endpoint":     p.Endpoint,
		"insecure":     true,
		"authType":     "ClientSecret",
		"clientId":     ClientID,
		"clientSecret": ClientSecret,
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Stats are the fixture's request counters (GET /_test/stats).
type Stats struct {
	Requests             int            `json:"requests"`
	TokenRequests        int            `json:"token_requests"`
	TokenByGrant         map[string]int `json:"token_by_grant"`
	DiscoveryRequests    int            `json:"discovery_requests"`
	ClientConfigRequests int            `json:"client_config_requests"`
	ProxyAuthRejections  int            `json:"proxy_auth_rejections"`
	// ProxyAuthorization counts requests by their proxy-authorization value ("(none)").
	ProxyAuthorization map[string]int `json:"proxy_authorization"`
}

// ClientCredentials is the number of client_credentials token requests.
func (s Stats) ClientCredentials() int { return s.TokenByGrant["client_credentials"] }

// Stats reads the counters.
func (p *IdP) Stats(tb testing.TB) Stats {
	tb.Helper()
	resp, err := http.Get(p.URL + "/_test/stats")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Reset zeroes the counters.
func (p *IdP) Reset(tb testing.TB) {
	tb.Helper()
	resp, err := http.Post(p.URL+"/_test/reset", "application/json", strings.NewReader("{}"))
	if err != nil {
		tb.Fatal(err)
	}
	_ = resp.Body.Close()
}

// Redact describes a credential for a test message without showing it: its scheme (e.g.
// "Bearer") and length.
func Redact(v string) string {
	scheme, _, found := strings.Cut(v, " ")
	if !found {
		scheme = "(no scheme)"
	}
	return fmt.Sprintf("%s <%d chars>", scheme, len(v))
}

// diagnose describes a process that does not answer: its state and its standard streams.
func diagnose(pid int) string {
	var b strings.Builder
	state, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	fmt.Fprintf(&b, "stat: %s", strings.TrimSpace(string(state)))
	for fd := range 3 {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		fmt.Fprintf(&b, "; fd %d: %s", fd, link)
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		wchan, _ := os.ReadFile(task + "/wchan")
		comm, _ := os.ReadFile(task + "/comm")
		fmt.Fprintf(&b, "; %s %s: %s", filepath.Base(task), strings.TrimSpace(string(comm)), wchan)
	}
	return b.String()
}

// AnswerDeviceCode plays the person of the device flow: it opens the fixture's /device page
// and approves (or denies) userCode.
func (p *IdP) AnswerDeviceCode(userCode string, approve bool) error {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(p.URL + "/device")
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	const marker = `name="xsrf" value="`
	_, rest, ok := strings.Cut(string(page), marker)
	xsrf, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		return errors.New("no xsrf field on the device page")
	}
	answer := "abort"
	if approve {
		answer = "confirm"
	}
	resp, err = browser.PostForm(p.URL+"/device", url.Values{"xsrf": {xsrf}, "user_code": {userCode}, answer: {"yes"}})
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("device answer: HTTP %d", resp.StatusCode)
	}
	return nil
}
