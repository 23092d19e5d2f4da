module github.com/flyteorg/flyteauth/bindings/go/flyteauth/oauth2auth

go 1.26.0

require (
	github.com/flyteorg/flyteauth/bindings/go/flyteauth v0.0.0-00010101000000-000000000000
	golang.org/x/oauth2 v0.37.0
)

// The core module in this repository (a consumer's go.mod ignores this line and uses the
// required version instead).
replace github.com/flyteorg/flyteauth/bindings/go/flyteauth => ../
