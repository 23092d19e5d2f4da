//go:build flyteauth_includebuild

package flyteauth

// This file is never built. `go mod vendor` copies only the directories of packages a build
// could import, considering every build tag; these imports make it copy the prebuilt
// libraries and the header too, so a vendored build links as a module-cache one does.
import (
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/darwin-amd64"
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/darwin-arm64"
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/include"
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/linux-amd64"
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/linux-arm64"
	_ "github.com/flyteorg/flyteauth/bindings/go/flyteauth/build/windows-amd64"
)
