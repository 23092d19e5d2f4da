//go:build !cgo

package flyteauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
)

// Without cgo the package compiles and every way in reports a clear ErrUnsupported.
func TestWithoutCgo(t *testing.T) {
	a, err := flyteauth.New(`{"endpoint": "dns:///flyte.example.com"}`)
	if a != nil || !errors.Is(err, flyteauth.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("New: got %v, %v; want ErrUnsupported", a, err)
	}
	if !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("the message does not say why: %q", err)
	}
	if _, err := flyteauth.FromFlyteConfig(""); !errors.Is(err, flyteauth.ErrUnsupported) {
		t.Errorf("FromFlyteConfig: %v", err)
	}
	if a, err := flyteauth.NewFromConfig(flyteauth.Config{Endpoint: "dns:///flyte.example.com"}); a != nil || !errors.Is(err, flyteauth.ErrUnsupported) {
		t.Errorf("NewFromConfig: %v, %v", a, err)
	}
	var zero flyteauth.Authenticator
	if _, err := zero.Metadata(context.Background()); !errors.Is(err, flyteauth.ErrUnsupported) {
		t.Errorf("Metadata: %v", err)
	}
	tr := &flyteauth.Transport{Auth: &zero}
	req, err := http.NewRequest(http.MethodGet, "http://flyte.example.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RoundTrip(req); !errors.Is(err, flyteauth.ErrUnsupported) {
		t.Errorf("Transport: %v", err)
	}
}
