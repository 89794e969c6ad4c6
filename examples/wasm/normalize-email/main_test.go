package main

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

// The handler runs natively under go test; the same code is built for
// wasip1 by make examples.
func TestTransform(t *testing.T) {
	for in, want := range map[string]string{
		"Jane.Doe+CI@Example.COM": "jane.doe@example.com",
		" bob@corp.example.com ":  "bob@corp.example.com",
		"+tag@x.y":                "+tag@x.y",
		"not-an-email":            "not-an-email",
		"":                        "",
	} {
		p, err := Transform(authplug.Input{Profile: authplug.Profile{Email: in, DisplayName: "D"}})
		if err != nil || p.Email != want || p.DisplayName != "D" {
			t.Errorf("%q: got %+v %v, want %q", in, p, err, want)
		}
	}
	status, out := authplug.Call("transform", []byte(`{"profile":{"email":"A+b@C.d"}}`))
	if status != authplug.StatusOK || string(out) != `{"profile":{"email":"a@c.d"}}` {
		t.Errorf("through the SDK: %d %s", status, out)
	}
}
