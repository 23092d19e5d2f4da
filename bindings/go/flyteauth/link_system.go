//go:build cgo && flyteauth_system

package flyteauth

// With the build tag flyteauth_system the package links the flyteauth library installed on
// the system (a release archive unpacked under a prefix, `make install`, or a repository
// checkout's target/release), found through pkg-config: PKG_CONFIG_PATH must reach
// flyteauth.pc (or flyteauth-static.pc through CGO_LDFLAGS for a static link). The program
// then needs libflyteauth.so at run time (the checkout's flyteauth.pc adds an rpath).

// #cgo pkg-config: flyteauth
import "C"
