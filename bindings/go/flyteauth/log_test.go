//go:build cgo && linux

package flyteauth_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

// lockedBuffer is an io.Writer for a slog handler that library threads write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureStderr points file descriptor 2 (where native code writes) at a temporary file until
// the returned function restores it and returns what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	return func() string {
		if err := syscall.Dup3(saved, 2, 0); err != nil {
			t.Fatal(err)
		}
		_ = syscall.Close(saved)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		_ = f.Close()
		return string(b)
	}
}

// The library's records go to the program's slog.Logger, with their level and module; with a
// logger set, nothing reaches stderr, not even the notices that go there without one (the
// keyring that cannot be used).
func TestSetLoggerTakesRecordsAndStderrStaysEmpty(t *testing.T) {
	idp := idptest.Start(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/flyteauth-test-bus")
	var out lockedBuffer
	before := flyteauth.ReleasedLoggers()
	restore := captureStderr(t)
	if err := flyteauth.SetLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))); err != nil {
		restore()
		t.Fatal(err)
	}
	skip, err := flyteauth.New(`{"endpoint": "dns:///flyte.invalid", "authType": "ClientSecret", "clientId": "a",
		"clientSecret": "b", "insecureSkipVerify": true}`)
	if err == nil {
		_ = skip.Close()
	}
	keyring, err := flyteauth.New(`{"endpoint": "` + idp.Endpoint + `", "insecure": true, "authType": "Pkce",
		"tokenCache": "keyring", "interactive": false}`)
	if err == nil {
		_, err = keyring.Metadata(t.Context())
		_ = keyring.Close()
	}
	clearErr := flyteauth.SetLogger(nil)
	written := restore()
	if !errors.Is(err, flyteauth.ErrLoginRequired) {
		t.Fatalf("Metadata: %v; want ErrLoginRequired", err)
	}
	if clearErr != nil {
		t.Fatal(clearErr)
	}
	if written != "" {
		t.Errorf("stderr got %q; want nothing while a logger is set", written)
	}
	logged := out.String()
	for _, want := range []string{
		`level=WARN msg="flyteauth: insecureSkipVerify is on`,
		`target=flyteauth::http`,
		`level=WARN msg="flyteauth: warning: the OS keyring is not usable`,
		`target=flyteauth::cache`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("the logger got no %q; it got:\n%s", want, logged)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for flyteauth.ReleasedLoggers()-before < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := flyteauth.ReleasedLoggers() - before; got != 1 {
		t.Errorf("%d loggers released after SetLogger(nil); want 1", got)
	}
}

// The library is asked only for the records the logger is enabled for.
func TestSetLoggerAsksForTheLoggersLowestLevel(t *testing.T) {
	for _, c := range []struct {
		level slog.Level
		want  int
	}{{flyteauth.LevelTrace, 5}, {slog.LevelDebug, 4}, {slog.LevelInfo, 3}, {slog.LevelWarn, 2}, {slog.LevelError, 1}, {slog.LevelError + 4, 0}} {
		l := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: c.level}))
		if got := flyteauth.MinLevel(l); got != c.want {
			t.Errorf("handler level %v: threshold %d; want %d", c.level, got, c.want)
		}
	}
}
