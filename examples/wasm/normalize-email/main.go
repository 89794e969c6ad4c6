// Command normalize-email is a WebAssembly profile transform: it lower-cases
// the profile's email and strips a +tag from its local part
// (Jane.Doe+ci@Example.com -> jane.doe@example.com). Run it after the
// provider's transform, which builds the profile.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o normalize-email.wasm .
package main

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

func init() { authplug.HandleTransform(Transform) }

// Transform implements the profile transform.
func Transform(in authplug.Input) (authplug.Profile, error) {
	p := in.Profile
	p.Email = Normalize(p.Email)
	return p, nil
}

// Normalize lower-cases email and removes a +tag from its local part.
func Normalize(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

func main() {}
