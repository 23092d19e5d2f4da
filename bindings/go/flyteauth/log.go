//go:build cgo

package flyteauth

// This file's preamble may hold declarations only, because of the //export lines below.

/*
#include <stdint.h>
*/
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"sync/atomic"
)

// SetLogger sends the library's log records to l, process-wide, replacing the logger set
// before: each record is logged at its level (ERROR, WARN, INFO, DEBUG, or [LevelTrace]) with
// its message and a "target" attribute naming the library module that made it (e.g.
// "flyteauth::cache"). Messages never contain a secret. While a logger is set the library
// writes nothing to stderr: its two notices (an OS keyring that cannot be used, a login
// prompt when no [Authenticator.SetPrompt] function is set) become WARN records. The library
// makes only the records l is enabled for, as [slog.Logger.Enabled] says when SetLogger is
// called. A nil l removes the logger: records are dropped and the notices go to stderr again.
//
// Records come from library threads as well as the calling goroutine, possibly at once; l's
// handler must be safe for concurrent use (slog's own handlers are). Set it before creating
// authenticators to see every record.
func SetLogger(l *slog.Logger) error {
	if l == nil {
		return setLogHandle(0, 0)
	}
	// The library hands the handle back to flyteauthGoLogRelease once it no longer uses it.
	h := cgo.NewHandle(l)
	if err := setLogHandle(uintptr(h), minLevel(l)); err != nil {
		h.Delete() // not taken by the library
		return err
	}
	return nil
}

// minLevel is the flyteauth_log_level threshold for l: its lowest enabled level.
func minLevel(l *slog.Logger) int {
	ctx := context.Background()
	for _, c := range []struct {
		level slog.Level
		n     int
	}{{LevelTrace, 5}, {slog.LevelDebug, 4}, {slog.LevelInfo, 3}, {slog.LevelWarn, 2}, {slog.LevelError, 1}} {
		if l.Enabled(ctx, c.level) {
			return c.n
		}
	}
	return 0
}

// releasedLoggers counts loggers the library has released (for tests).
var releasedLoggers atomic.Int64

//export flyteauthGoLog
func flyteauthGoLog(h C.uintptr_t, level C.int, target, message *C.char) {
	l, ok := cgo.Handle(h).Value().(*slog.Logger)
	if !ok {
		return
	}
	var lv slog.Level
	switch level {
	case 1:
		lv = slog.LevelError
	case 2:
		lv = slog.LevelWarn
	case 3:
		lv = slog.LevelInfo
	case 4:
		lv = slog.LevelDebug
	default:
		lv = LevelTrace
	}
	l.LogAttrs(context.Background(), lv, C.GoString(message), slog.String("target", C.GoString(target)))
}

//export flyteauthGoLogRelease
func flyteauthGoLogRelease(h C.uintptr_t) {
	cgo.Handle(h).Delete()
	releasedLoggers.Add(1)
}
