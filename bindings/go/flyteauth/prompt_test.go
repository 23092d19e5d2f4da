//go:build cgo

package flyteauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	flyteauth "github.com/flyteorg/flyteauth/bindings/go/flyteauth"
	"github.com/flyteorg/flyteauth/bindings/go/flyteauth/internal/idptest"
)

func interactiveConfig(idp *idptest.IdP, authType string) string {
	return `{"endpoint": "` + idp.Endpoint + `", "insecure": true, "authType": "` + authType + `", "tokenCache": "memory"}`
}

// The device flow with the program's own prompt: the person (a scripted browser) approves the
// code the prompt shows, and Metadata returns the token.
func TestDeviceFlowPrompt(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, interactiveConfig(idp, "DeviceFlow"))
	prompts := make(chan flyteauth.Prompt, 4)
	if err := a.SetPrompt(func(p flyteauth.Prompt) { prompts <- p }); err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		select {
		case p := <-prompts:
			if p.Kind != flyteauth.PromptDeviceCode || p.UserCode == "" || !strings.HasPrefix(p.URL, idp.URL) {
				answered <- errors.New("not a device-code prompt for the fixture")
				return
			}
			answered <- idp.AnswerDeviceCode(p.UserCode, true)
		case <-time.After(30 * time.Second):
			answered <- errors.New("no prompt within 30 s")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	md, err := a.Metadata(ctx)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	authValue(t, md)
	if len(prompts) != 0 {
		t.Error("more than one prompt for one login")
	}
}

// A non-interactive authenticator fails with ErrLoginRequired and never prompts.
func TestNonInteractiveLoginRequired(t *testing.T) {
	idp := idptest.Start(t)
	a := mustNew(t, interactiveConfig(idp, "DeviceFlow"))
	prompted := make(chan flyteauth.Prompt, 1)
	if err := a.SetPrompt(func(p flyteauth.Prompt) { prompted <- p }); err != nil {
		t.Fatal(err)
	}
	if err := a.SetInteractive(false); err != nil {
		t.Fatal(err)
	}
	_, err := a.Metadata(context.Background())
	if !errors.Is(err, flyteauth.ErrLoginRequired) {
		t.Fatalf("got %v; want ErrLoginRequired", err)
	}
	if len(prompted) != 0 {
		t.Error("a non-interactive authenticator prompted")
	}
	if err := a.SetPrompt(nil); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if err := a.SetPrompt(func(flyteauth.Prompt) {}); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("SetPrompt after Close = %v; want ErrClosed", err)
	}
	if err := a.SetInteractive(true); !errors.Is(err, flyteauth.ErrClosed) {
		t.Errorf("SetInteractive after Close = %v; want ErrClosed", err)
	}
}

// Every prompt function handed to the library is handed back once the library is done with
// it: when replaced, when removed, and after Close.
func TestPromptFunctionsAreReleased(t *testing.T) {
	a, err := flyteauth.New(commandConfig)
	if err != nil {
		t.Fatal(err)
	}
	before := flyteauth.ReleasedPrompts()
	waitReleased := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for flyteauth.ReleasedPrompts()-before < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := flyteauth.ReleasedPrompts() - before; got != n {
			t.Fatalf("%d prompt functions released; want %d", got, n)
		}
	}
	for range 2 {
		if err := a.SetPrompt(func(flyteauth.Prompt) {}); err != nil {
			t.Fatal(err)
		}
	}
	waitReleased(1) // the first, replaced by the second
	if err := a.SetPrompt(nil); err != nil {
		t.Fatal(err)
	}
	waitReleased(2)
	if err := a.SetPrompt(func(flyteauth.Prompt) {}); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	waitReleased(3)
}
