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
