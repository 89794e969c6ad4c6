package autherr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCauseMessage(t *testing.T) {
	err := Wrap(NameAuthentication, "Refresh failed", Input("Missing session cookie"))
	if got, want := err.Error(), "Refresh failed; caused by InputError: Missing session cookie"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	plain := Wrap(NameAuthentication, "Refresh failed", errors.New("boom"))
	if got, want := plain.Error(), "Refresh failed; caused by Error: boom"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestNameAndStatus(t *testing.T) {
	wrapped := fmt.Errorf("ctx: %w", NotFound("User not found"))
	if !IsNotFound(wrapped) || NameOf(wrapped) != NameNotFound || Status(NameOf(wrapped)) != 404 {
		t.Fatalf("wrapped NotFound not recognised")
	}
	if NameOf(errors.New("x")) != "Error" || Status("Error") != 500 {
		t.Fatal("plain error must be Error/500")
	}
	for name, code := range map[string]int{NameInput: 400, NameAuthentication: 401, NameNotAllowed: 403, NameConflict: 409, NameServiceUnavailable: 503, NameNotImplemented: 501} {
		if Status(name) != code {
			t.Errorf("%s: %d", name, Status(name))
		}
	}
}

func TestStatusOf(t *testing.T) {
	if got := StatusOf(NotAllowed("x")); got != 403 {
		t.Errorf("NotAllowed: %d, want 403", got)
	}
	e := NotAllowed("x")
	e.HTTPStatus = 400
	if got := StatusOf(fmt.Errorf("wrapped: %w", e)); got != 400 {
		t.Errorf("NotAllowed with HTTPStatus 400: %d", got)
	}
	if got := StatusOf(errors.New("plain")); got != 500 {
		t.Errorf("plain error: %d, want 500", got)
	}
}
