// Package windows_amd64 holds the prebuilt flyteauth library for windows/amd64 (libflyteauth.a, on release tags).
// It has no code: this file makes `go mod vendor` keep the directory (see ../../includebuild.go).
package windows_amd64
