//go:build cgo

package flyteauth

// Test hooks.

// CollectedCount is the number of Authenticators released by the cleanup backstop.
func CollectedCount() int64 { return collectedCount.Load() }

// StatusString is the library's flyteauth_status_str.
func StatusString(c Code) string { return statusString(c) }

// NumCodes is the number of codes, 0 (OK) included.
const NumCodes = len(codeNames)

// ReleasedPrompts is the number of prompt functions the library has released.
func ReleasedPrompts() int64 { return releasedPrompts.Load() }

// ReleasedLoggers is the number of loggers the library has released.
func ReleasedLoggers() int64 { return releasedLoggers.Load() }

// MinLevel is the flyteauth_log_level threshold SetLogger asks for with l.
var MinLevel = minLevel
