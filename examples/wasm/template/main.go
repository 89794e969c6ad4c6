// Command template is a WebAssembly sign-in resolver to copy: it signs in
// the catalog User whose name is the email's local part, for emails of the
// domain in its config. Copy this directory, change Resolve, build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my-resolver.wasm ./examples/wasm/my-resolver
package main

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

// config is gatehouse.modules.<name>.config.
type config struct {
	Domain string `json:"domain"`
}

func init() { authplug.HandleResolve(Resolve) }

// Resolve returns the user, authplug.NotFound to let the next resolver try,
// or another error to refuse the sign-in.
func Resolve(in authplug.Input) (authplug.Result, error) {
	var c config
	if err := in.DecodeConfig(&c); err != nil {
		return authplug.Result{}, err
	}
	local, domain, ok := strings.Cut(in.Profile.Email, "@")
	if !ok || (c.Domain != "" && !strings.EqualFold(domain, c.Domain)) {
		return authplug.Result{}, authplug.NotFound("no email of domain %s", c.Domain)
	}
	u, err := authplug.FindUser(authplug.Query{EntityRef: "user:default/" + strings.ToLower(local)})
	if err != nil {
		return authplug.Result{}, err // NotFound falls through to the next resolver
	}
	authplug.Logf(authplug.LevelInfo, "signed in %s", u.EntityRef)
	return authplug.Result{EntityRef: u.EntityRef, OwnershipEntityRefs: u.OwnershipEntityRefs}, nil
}

func main() {}
