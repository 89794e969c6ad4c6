// Command builtins is a WebAssembly module implementing Gatehouse's three
// built-in sign-in resolvers through the authplug Go SDK and the catalog
// host call. The conformance test runs resolvertest's table against it and
// against the built-ins; config {"resolver": "<name>"} picks the logic.
package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/wasm-sdk/go/authplug"
)

const dangerous = "dangerouslyAllowSignInWithoutUserInCatalog"

var errNoEmail = authplug.Errorf("Login failed, user profile does not contain an email")

func init() {
	authplug.HandleResolve(resolve)
	authplug.HandleOptions(checkOptions)
}

type conf struct {
	Resolver string `json:"resolver"`
}

type opts struct {
	Dangerous      bool
	AllowedDomains []string
	HasDomains     bool
}

// parseOptions mirrors resolvers' option reader: wrong types and unknown
// keys are errors.
func parseOptions(resolver string, m map[string]any) (opts, error) {
	var o opts
	accepted := []string{dangerous}
	if resolver != "preferredUsernameMatchingUserEntityName" {
		accepted = append(accepted, "allowedDomains")
	}
	for k, v := range m {
		switch {
		case !slices.Contains(accepted, k):
			return o, fmt.Errorf("Invalid sign-in resolver options, unknown option %q", k)
		case k == dangerous:
			b, ok := v.(bool)
			if !ok && v != nil {
				return o, fmt.Errorf("Invalid sign-in resolver options, %q must be a boolean", k)
			}
			o.Dangerous = b
		case k == "allowedDomains":
			l, ok := v.([]any)
			if !ok && v != nil {
				return o, fmt.Errorf("Invalid sign-in resolver options, %q must be a list of strings", k)
			}
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return o, fmt.Errorf("Invalid sign-in resolver options, %q must be a list of strings", k)
				}
				o.AllowedDomains = append(o.AllowedDomains, s)
			}
			o.HasDomains = v != nil
		}
	}
	return o, nil
}

func checkOptions(_ string, options map[string]any, config json.RawMessage) error {
	var c conf
	if err := json.Unmarshal(config, &c); err != nil {
		return err
	}
	_, err := parseOptions(c.Resolver, options)
	return err
}

var plusAddress = regexp.MustCompile(`^([^@+]+)(\+[^@]+)?(@.*)$`)

func resolve(in authplug.Input) (authplug.Result, error) {
	var c conf
	if err := in.DecodeConfig(&c); err != nil {
		return authplug.Result{}, err
	}
	o, err := parseOptions(c.Resolver, in.Options)
	if err != nil {
		return authplug.Result{}, err
	}
	switch c.Resolver {
	case "emailMatchingUserEntityProfileEmail":
		email := in.Profile.Email
		if email == "" {
			return authplug.Result{}, errNoEmail
		}
		res, err := find(authplug.Query{Filter: []map[string]string{{"spec.profile.email": email}}})
		if err == nil || !authplug.IsNotFound(err) {
			return res, err
		}
		noPlus := email
		if m := plusAddress.FindStringSubmatch(email); m != nil {
			noPlus = m[1] + m[3]
		}
		res, err = find(authplug.Query{Filter: []map[string]string{{"spec.profile.email": noPlus}}})
		if err != nil && o.Dangerous && authplug.IsNotFound(err) {
			return self("user:default/" + strings.ToLower(noPlus)), nil
		}
		return res, err
	case "emailLocalPartMatchingUserEntityName":
		email := in.Profile.Email
		if email == "" {
			return authplug.Result{}, errNoEmail
		}
		local, domain, _ := strings.Cut(email, "@")
		if o.HasDomains && !slices.Contains(o.AllowedDomains, domain) {
			return authplug.Result{}, authplug.NotAllowed("Sign-in user email is not from an allowed domain")
		}
		return byName(local, o.Dangerous)
	case "preferredUsernameMatchingUserEntityName":
		name, _ := in.Claim("user_name")
		if name == "" {
			name, _ = in.Claim("preferred_username")
		}
		if name == "" {
			return authplug.Result{}, authplug.Errorf("Login failed, user profile does not contain a user_name or preferred_username claim")
		}
		return byName(name, o.Dangerous)
	}
	return authplug.Result{}, authplug.Errorf("config.resolver %q is not a built-in resolver name", c.Resolver)
}

func byName(name string, dangerous bool) (authplug.Result, error) {
	res, err := find(authplug.Query{EntityRef: "user:default/" + name})
	if err != nil && dangerous && authplug.IsNotFound(err) {
		return self("user:default/" + strings.ToLower(name)), nil
	}
	return res, err
}

func self(ref string) authplug.Result {
	return authplug.Result{EntityRef: ref, OwnershipEntityRefs: []string{ref}}
}

func find(q authplug.Query) (authplug.Result, error) {
	u, err := authplug.FindUser(q)
	if err != nil {
		return authplug.Result{}, err
	}
	return authplug.Result{EntityRef: u.EntityRef, OwnershipEntityRefs: u.OwnershipEntityRefs}, nil
}

func main() {}
