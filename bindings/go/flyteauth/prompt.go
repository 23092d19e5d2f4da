//go:build cgo

package flyteauth

// This file's preamble may hold declarations only, because of the //export lines below.

/*
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/cgo"
	"sync/atomic"
)

// SetPrompt makes a show login prompts the program's own way (a GUI, an IDE plugin): fn is
// called whenever a person must act. A nil fn removes it. fn runs on a library thread, at
// most once per prompt; it must return promptly and must not call methods of a (start a
// goroutine for anything slow). A panic in fn is recovered and reported on stderr.
func (a *Authenticator) SetPrompt(fn func(Prompt)) error {
	defer runtime.KeepAlive(a)
	h := a.h
	if h == nil {
		return closedError()
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return closedError()
	}
	// The library hands the handle back to flyteauthGoRelease once it will no longer call
	// the prompt (replaced, removed, or the authenticator freed and its work finished).
	var fh cgo.Handle
	if fn != nil {
		fh = cgo.NewHandle(fn)
	}
	if err := h.setPrompt(uintptr(fh)); err != nil {
		if fh != 0 {
			fh.Delete() // not taken by the library
		}
		return err
	}
	return nil
}

// releasedPrompts counts prompt functions the library has released (for tests).
var releasedPrompts atomic.Int64

//export flyteauthGoPrompt
func flyteauthGoPrompt(h C.uintptr_t, kind C.int, url, userCode *C.char) {
	fn, ok := cgo.Handle(h).Value().(func(Prompt))
	if !ok {
		return
	}
	p := Prompt{Kind: PromptKind(kind), URL: C.GoString(url)}
	if userCode != nil {
		p.UserCode = C.GoString(userCode)
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "flyteauth: the prompt callback panicked: %v\n", r)
		}
	}()
	fn(p)
}

//export flyteauthGoRelease
func flyteauthGoRelease(h C.uintptr_t) {
	cgo.Handle(h).Delete()
	releasedPrompts.Add(1)
}
