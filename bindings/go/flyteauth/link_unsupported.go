//go:build cgo && !flyteauth_system && !((linux || darwin) && (amd64 || arm64)) && !(windows && amd64)

package flyteauth

// No library is prebuilt for this GOOS/GOARCH. Build flyteauth for it from source (see the
// repository's README) and use the build tag flyteauth_system, which links it through
// pkg-config. The undefined name below makes the compiler say so.
var _ = no_prebuilt_flyteauth_for_this_GOOS_GOARCH__build_it_and_use_tag_flyteauth_system
