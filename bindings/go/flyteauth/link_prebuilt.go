//go:build cgo && !flyteauth_system

package flyteauth

// The default: the static library prebuilt for this GOOS/GOARCH, shipped in the module's
// build/<goos>-<goarch> directory on every release tag (`make go-prebuilt` writes it from the
// release archives; build/MANIFEST records the sources it was built from), linked by its
// path so that no installed libflyteauth.so can be picked up instead. Each line lists every
// system library the static library needs, so a static build (`-ldflags '-linkmode external
// -extldflags -static'`) or a distroless image needs no CGO_LDFLAGS. The Linux archives are
// built against a GLIBC 2.17 baseline; the final program gets the baseline of the C
// toolchain that links it. The unwinder (libgcc_s, or libgcc_eh when static) is added by the
// C compiler driver itself.
//
// A repository checkout has no prebuilt libraries (they are committed on release tags
// only): use the build tag flyteauth_system there, or run `make go-prebuilt`.

/*
#cgo CFLAGS: -I${SRCDIR}/build/include
#cgo linux,amd64 LDFLAGS: ${SRCDIR}/build/linux-amd64/libflyteauth.a
#cgo linux,arm64 LDFLAGS: ${SRCDIR}/build/linux-arm64/libflyteauth.a
#cgo linux LDFLAGS: -lutil -lrt -lpthread -lm -ldl
#cgo darwin,amd64 LDFLAGS: ${SRCDIR}/build/darwin-amd64/libflyteauth.a
#cgo darwin,arm64 LDFLAGS: ${SRCDIR}/build/darwin-arm64/libflyteauth.a
#cgo darwin LDFLAGS: -framework Security -framework CoreFoundation -liconv -lm
#cgo windows,amd64 LDFLAGS: ${SRCDIR}/build/windows-amd64/libflyteauth.a
#cgo windows LDFLAGS: -lws2_32 -lbcrypt -luserenv -lntdll -ladvapi32 -lcrypt32 -liphlpapi -lkernel32 -lsynchronization -lole32 -lshell32
*/
import "C"
