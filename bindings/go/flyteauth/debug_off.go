//go:build !debug

package flyteauth

import "sync/atomic"

// debug is set by the "debug" build tag (see debug_on.go).
const debug = false

// debugGC does nothing without the "debug" build tag.
func debugGC() {}

// collectedCount counts Authenticators released by the cleanup backstop (for tests).
var collectedCount atomic.Int64
