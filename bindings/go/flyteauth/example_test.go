//go:build cgo

package flyteauth_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

func ExampleNew() {
	auth, err := flyteauth.New(`{"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
		"clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"}`)
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	md, err := auth.Metadata(context.Background())
	var fe *flyteauth.Error
	switch {
	case errors.Is(err, flyteauth.ErrAuthentication) && errors.As(err, &fe):
		log.Fatalf("refused: %s (HTTP %d)", fe.OAuthError, fe.HTTPStatus)
	case err != nil:
		log.Fatal(err)
	}
	for key := range md {
		log.Printf("header %s", key) // never log the values: they are credentials
	}
}

func ExampleNewFromConfig() {
	auth, err := flyteauth.NewFromConfig(flyteauth.Config{
		Endpoint:             "dns:///flyte.example.com",
		AuthType:             flyteauth.AuthTypeClientSecret,
		ClientID:             "my-app",
		ClientSecretLocation: "/etc/secrets/client_secret", // or ClientSecretEnvVar, or ClientSecret
		Scopes:               []string{"all"},
		PerRetryTimeout:      flyteauth.Duration(10 * time.Second), // zero: the library's default
	})
	if err != nil {
		log.Fatal(err) // a bad value is an ErrConfig naming the key
	}
	defer auth.Close()
	client := &http.Client{Transport: &flyteauth.Transport{Auth: auth}}
	resp, err := client.Get("https://flyte.example.com/api/v1/projects")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
}

func ExampleTransport() {
	auth, err := flyteauth.FromFlyteConfig("")
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	client := &http.Client{Transport: &flyteauth.Transport{Auth: auth}}
	resp, err := client.Get("https://flyte.example.com/api/v1/projects")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
}
