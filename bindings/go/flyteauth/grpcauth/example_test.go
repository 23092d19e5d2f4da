package grpcauth_test

import (
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/grpcauth"
)

func ExampleUnaryClientInterceptor() {
	auth, err := flyteauth.FromFlyteConfig("") // ~/.flyte/config.yaml and the FLYTE_* variables
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	conn, err := grpc.NewClient("dns:///flyte.example.com:443",
		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
		grpc.WithUnaryInterceptor(grpcauth.UnaryClientInterceptor(auth)),
		grpc.WithStreamInterceptor(grpcauth.StreamClientInterceptor(auth)))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	// admin := service.NewAdminServiceClient(conn) // flyteidl's generated client
}
