module github.com/flyteorg/flyteauth/bindings/go/flyteauth/grpcauth

go 1.26.0

require (
	github.com/flyteorg/flyteauth/bindings/go/flyteauth v0.0.0-00010101000000-000000000000
	google.golang.org/grpc v1.85.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The core module in this repository (a consumer's go.mod ignores this line and uses the
// required version instead).
replace github.com/flyteorg/flyteauth/bindings/go/flyteauth => ../
