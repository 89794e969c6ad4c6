// Command username-resolver is a WebAssembly sign-in resolver: it maps the
// user_name claim (else the part of acct before '@') to a User entity name,
// and only for accounts whose domain its config allows.
//
// Config (gatehouse.modules.<name>.config):
//
//	domain: example.com          # or domains: [example.com, corp.example.com]
//	requireCatalogUser: true     # default; false signs in without an entity
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o username-resolver.wasm .
package main

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

type config struct {
	Domain             string   `json:"domain"`
	Domains            []string `json:"domains"`
	RequireCatalogUser *bool    `json:"requireCatalogUser"`
}

func init() { authplug.HandleResolve(Resolve) }

// Resolve implements the resolver.
func Resolve(in authplug.Input) (authplug.Result, error) {
	var c config
	if err := in.DecodeConfig(&c); err != nil {
		return authplug.Result{}, authplug.Errorf("username-resolver: bad config: %v", err)
	}
	allowed := c.Domains
	if c.Domain != "" {
		allowed = append(allowed, c.Domain)
	}
	acct, _ := in.Claim("acct")
	name, _ := in.Claim("user_name")
	localPart, domain, hasDomain := strings.Cut(acct, "@")
	if name == "" {
		name = localPart
	}
	if name == "" {
		return authplug.Result{}, authplug.NotFound("no user_name or acct claim")
	}
	if len(allowed) > 0 {
		if !hasDomain {
			if email, ok := in.Claim("email"); ok {
				_, domain, hasDomain = strings.Cut(email, "@")
			}
		}
		ok := false
		for _, d := range allowed {
			ok = ok || (hasDomain && strings.EqualFold(d, domain))
		}
		if !ok {
			return authplug.Result{}, authplug.NotAllowed("Sign-in user domain is not allowed")
		}
	}
	name = strings.ToLower(name)
	u, err := authplug.FindUser(authplug.Query{EntityRef: "user:default/" + name})
	if err == nil {
		return authplug.Result{EntityRef: u.EntityRef, OwnershipEntityRefs: u.OwnershipEntityRefs}, nil
	}
	if authplug.IsNotFound(err) && c.RequireCatalogUser != nil && !*c.RequireCatalogUser {
		ref := "user:default/" + name
		return authplug.Result{EntityRef: ref, OwnershipEntityRefs: []string{ref}}, nil
	}
	return authplug.Result{}, err
}

func main() {}
