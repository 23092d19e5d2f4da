module github.com/flyteorg/flyteauth/bindings/go/flyteauth

go 1.24
