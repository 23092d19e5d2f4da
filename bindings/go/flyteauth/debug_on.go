//go:build debug

package flyteauth

import (
	"runtime"
	"sync/atomic"
)

// debug is set by the "debug" build tag: `go test -tags debug` forces a garbage collection
// right before every C call on an Authenticator, and the cleanup backstop panics if it
// finds a call in flight. So a missing runtime.KeepAlive (an Authenticator collected while
// one of its methods still uses its native handle) fails the tests instead of corrupting
// memory in production.
const debug = true

// debugGC collects garbage and gives the cleanup goroutine a chance to run.
func debugGC() {
	runtime.GC()
	runtime.Gosched()
}

// collectedCount counts Authenticators released by the cleanup backstop (for tests).
var collectedCount atomic.Int64
