// Package include holds flyteauth.h for the prebuilt libraries. It has no code: this file makes
// `go mod vendor` keep the directory (see ../../includebuild.go).
package include
