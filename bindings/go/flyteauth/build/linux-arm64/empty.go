// Package linux_arm64 holds the prebuilt flyteauth library for linux/arm64 (libflyteauth.a, on release tags).
// It has no code: this file makes `go mod vendor` keep the directory (see ../../includebuild.go).
package linux_arm64
