package flyteauth

import (
	"context"
	"errors"
)

// A Code is the kind of a failure: the library's flyteauth_status. The numbers are stable.
//
// Each Code is also a sentinel error, so that errors.Is(err, flyteauth.ErrAuthentication)
// tells what went wrong (like syscall.Errno). The full details are in [*Error].
type Code int

// The codes of the C ABI's flyteauth_status (0 is success, which is a nil error in Go).
const (
	// ErrInvalidArgument: an argument was not valid (e.g. it contained a NUL byte), or the
	// Authenticator is closed (then the error also matches ErrClosed).
	ErrInvalidArgument Code = 1
	// ErrConfig: the configuration is wrong (unknown key, wrong type, missing value,
	// unreadable file); the message names the key. Retrying will not help.
	ErrConfig Code = 2
	// ErrDiscovery: the server's auth metadata could not be fetched or understood.
	ErrDiscovery Code = 3
	// ErrAuthentication: the identity provider refused the credentials; see
	// Error.OAuthError and Error.HTTPStatus.
	ErrAuthentication Code = 4
	// ErrNetwork: a connection failed or the server kept answering 5xx/429; retrying later
	// may help.
	ErrNetwork Code = 5
	// ErrTimeout: a request, a command or the call itself did not finish in time. When the
	// call's context deadline passed, the error also matches context.DeadlineExceeded.
	ErrTimeout Code = 6
	// ErrCommand: the external command ("command" / "proxyCommand") failed; the message has
	// its exit status and stderr.
	ErrCommand Code = 7
	// ErrCancelled: the call was cancelled. The error also matches context.Canceled (its
	// context was cancelled; a context past its deadline gives ErrTimeout) or ErrClosed (the
	// Authenticator was closed).
	ErrCancelled Code = 8
	// ErrInternal: a bug in flyteauth, e.g. a caught panic. Please report it.
	ErrInternal Code = 9
	// ErrProtocol: the server answered with something that is not a valid OAuth2 response.
	ErrProtocol Code = 10
	// ErrUnsupported: the configured flow is not available in this build.
	ErrUnsupported Code = 11
	// ErrLoginRequired: a person must log in (PKCE or device flow, no usable cached or
	// refresh token), but the Authenticator is non-interactive (the "interactive"
	// configuration key, or SetInteractive(false)). Run `flyteauth login`, then retry.
	ErrLoginRequired Code = 12
)

// codeNames are the library's flyteauth_status_str names (a test checks they agree).
var codeNames = [...]string{
	0:                  "ok",
	ErrInvalidArgument: "invalid argument",
	ErrConfig:          "configuration error",
	ErrDiscovery:       "discovery error",
	ErrAuthentication:  "authentication error",
	ErrNetwork:         "network error",
	ErrTimeout:         "timeout",
	ErrCommand:         "command error",
	ErrCancelled:       "cancelled",
	ErrInternal:        "internal error",
	ErrProtocol:        "protocol error",
	ErrUnsupported:     "unsupported",
	ErrLoginRequired:   "login required",
}

// String returns the library's short name for the code, e.g. "authentication error".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "unknown status"
}

// Error makes each Code a sentinel error: "flyteauth: authentication error".
func (c Code) Error() string {
	return "flyteauth: " + c.String()
}

// ErrClosed matches the errors of calls on a closed [Authenticator], including blocking
// calls that Close cancelled.
var ErrClosed = errors.New("flyteauth: the authenticator is closed")

// Error is a failure reported by the library. Its message never contains a secret or a
// token.
//
// errors.Is(err, c) is true for its [Code] c; a cancelled call also matches the cause
// (context.Canceled, context.DeadlineExceeded or [ErrClosed]).
type Error struct {
	// Code is the kind of failure.
	Code Code
	// Message is the library's description, e.g. "authentication error: POST
	// http://idp/token: the identity provider refused client 'my-app' (invalid_client: ...)".
	Message string
	// HTTPStatus is the HTTP status the server answered with, or 0 when no server answered.
	HTTPStatus int
	// OAuthError is the OAuth2 "error" code the server answered with (RFC 6749 §5.2, e.g.
	// "invalid_client"), or "".
	OAuthError string
	// OAuthErrorDescription is the OAuth2 "error_description" the server answered with, or
	// "".
	OAuthErrorDescription string

	cause error
}

// Error returns "flyteauth: " followed by the message.
func (e *Error) Error() string {
	return "flyteauth: " + e.Message
}

// Is reports whether target is e's Code.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// Unwrap returns the cause of a cancelled or timed-out call (context.Canceled,
// context.DeadlineExceeded or ErrClosed), else nil.
func (e *Error) Unwrap() error {
	return e.cause
}

func newError(c Code, message string) *Error {
	return &Error{Code: c, Message: message}
}

func closedError() *Error {
	return &Error{Code: ErrInvalidArgument, Message: "invalid argument: the authenticator is closed", cause: ErrClosed}
}

// contextError is the error of a call whose context is done: ErrTimeout for a deadline,
// ErrCancelled otherwise, whether the context was done before the call or during it.
func contextError(err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: ErrTimeout, Message: "timeout: the call did not complete before its context's deadline", cause: err}
	}
	return &Error{Code: ErrCancelled, Message: "cancelled: the call's context was cancelled", cause: err}
}
