//go:build !cgo

package flyteauth

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
)

// Without cgo (CGO_ENABLED=0, the default when cross-compiling and how most Go CLIs are
// released) the package still compiles, so a program can keep flyteauth as an optional
// dependency, but nothing can be authenticated: New and FromFlyteConfig (and NewFromConfig,
// config.go, which calls New) return an error matching [ErrUnsupported] (and
// errors.ErrUnsupported) that says how to enable it. See README.md for why this is not a
// fallback to the flyteauth CLI.

// unsupported is the error of every call in a build without cgo.
func unsupported() *Error {
	return &Error{
		Code: ErrUnsupported,
		Message: "unsupported: this program was built without cgo (CGO_ENABLED=0), so the native " +
			"flyteauth library is not linked; build it with CGO_ENABLED=1 and a C compiler " +
			"(the module ships the library prebuilt for linux/amd64, linux/arm64, darwin and windows/amd64)",
		cause: errors.ErrUnsupported,
	}
}

// SetLogger does nothing in a build without cgo: no library is linked, so there are no records.
func SetLogger(l *slog.Logger) error { return nil }

// Version returns "" in a build without cgo: no library is linked.
func Version() string {
	return ""
}

// An Authenticator turns configuration into the header metadata for calls to a Flyte
// backend. In a build without cgo none can be created.
type Authenticator struct{}

// snapshot is the headers of one call (never created without cgo).
type snapshot struct {
	keys        []string
	values      []string
	expiresAtMs int64
	shared      atomic.Pointer[map[string]string]
}

// New returns an error matching [ErrUnsupported] in a build without cgo.
func New(configJSON string) (*Authenticator, error) {
	return nil, unsupported()
}

// FromFlyteConfig returns an error matching [ErrUnsupported] in a build without cgo.
func FromFlyteConfig(path string) (*Authenticator, error) {
	return nil, unsupported()
}

// Insecure is false in a build without cgo.
func (a *Authenticator) Insecure() bool { return false }

// Metadata returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) Metadata(ctx context.Context) (map[string]string, error) {
	return nil, unsupported()
}

func (a *Authenticator) snapshot(ctx context.Context) (*snapshot, error) {
	return nil, unsupported()
}

// Refresh returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) Refresh(ctx context.Context) error { return unsupported() }

// Invalidate returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) Invalidate(ctx context.Context, rejectedValue string) error {
	return unsupported()
}

// Logout returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) Logout() error { return unsupported() }

// Close does nothing in a build without cgo.
func (a *Authenticator) Close() error { return nil }

// SetInteractive returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) SetInteractive(interactive bool) error { return unsupported() }

// SetPrompt returns an error matching [ErrUnsupported] in a build without cgo.
func (a *Authenticator) SetPrompt(fn func(Prompt)) error { return unsupported() }
