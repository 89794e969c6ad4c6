// Package resolvertest is one table of sign-in resolver cases that every
// implementation of a named resolver must pass: the built-ins, and
// WebAssembly modules that claim the same behaviour.
package resolvertest

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Case is one resolver invocation and what it must answer.
type Case struct {
	Name     string
	Resolver string
	Options  map[string]any
	Profile  providers.Profile
	// Claims are given as both userinfo and ID-token claims.
	Claims map[string]any
	// WantRef and WantEnt are the expected refs on success.
	WantRef string
	WantEnt []string
	// WantErr and WantMsg are the expected error name and message.
	WantErr string
	WantMsg string
	// WantOpenErr means opening the resolver with Options must fail.
	WantOpenErr bool
}

// Entities is the catalog every case runs against.
func Entities() []catalog.Entity {
	user := func(name, email string, groups ...string) catalog.Entity {
		mo := make([]any, len(groups))
		for i, g := range groups {
			mo[i] = g
		}
		return catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: catalog.Metadata{Name: name},
			Spec: map[string]any{"profile": map[string]any{"email": email}, "memberOf": mo}}
	}
	group := func(name string) catalog.Entity {
		return catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: catalog.Metadata{Name: name}, Spec: map[string]any{"type": "team"}}
	}
	return []catalog.Entity{
		user("alice", "alice@example.com", "team-a"),
		user("bob", "bob@corp.example.com"),
		user("dup1", "dup@example.com"),
		user("dup2", "dup@example.com"),
		group("team-a"),
	}
}

const (
	notFound  = autherr.NameNotFound
	plainErr  = autherr.NameError
	noEmail   = "Login failed, user profile does not contain an email"
	dangerous = "dangerouslyAllowSignInWithoutUserInCatalog"
)

// Cases is the table. Names are Backstage's resolver names.
func Cases() []Case {
	aliceEnt := []string{"user:default/alice", "group:default/team-a"}
	em := resolvers.EmailMatchingUserEntityProfileEmail
	lp := resolvers.EmailLocalPartMatchingUserEntityName
	pu := resolvers.PreferredUsernameMatchingUserEntityName
	return []Case{
		{Name: "email exact", Resolver: em, Profile: providers.Profile{Email: "alice@example.com"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "email any case", Resolver: em, Profile: providers.Profile{Email: "ALICE@Example.com"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "email plus tag retried", Resolver: em, Profile: providers.Profile{Email: "alice+ci@example.com"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "email unknown", Resolver: em, Profile: providers.Profile{Email: "zed@example.com"}, WantErr: notFound, WantMsg: "User not found"},
		{Name: "email unknown dangerous", Resolver: em, Options: map[string]any{dangerous: true}, Profile: providers.Profile{Email: "Zed+x@example.com"}, WantRef: "user:default/zed@example.com", WantEnt: []string{"user:default/zed@example.com"}},
		{Name: "email duplicate", Resolver: em, Profile: providers.Profile{Email: "dup@example.com"}, WantErr: autherr.NameConflict, WantMsg: "User lookup resulted in multiple matches"},
		{Name: "email missing", Resolver: em, WantErr: plainErr, WantMsg: noEmail},
		{Name: "email allowedDomains accepted and ignored", Resolver: em, Options: map[string]any{"allowedDomains": []any{"other.com"}}, Profile: providers.Profile{Email: "alice@example.com"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "email bad option type", Resolver: em, Options: map[string]any{dangerous: "yes"}, WantOpenErr: true},
		{Name: "email unknown option", Resolver: em, Options: map[string]any{"dangerouslyAllowSignInWithoutUserInCatalg": true}, WantOpenErr: true},

		{Name: "local part", Resolver: lp, Profile: providers.Profile{Email: "alice@anywhere.org"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "local part allowed domain", Resolver: lp, Options: map[string]any{"allowedDomains": []any{"example.com"}}, Profile: providers.Profile{Email: "alice@example.com"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "local part domain not allowed", Resolver: lp, Options: map[string]any{"allowedDomains": []any{"example.com"}}, Profile: providers.Profile{Email: "alice@evil.com"}, WantErr: autherr.NameNotAllowed, WantMsg: "Sign-in user email is not from an allowed domain"},
		{Name: "local part domain case-sensitive", Resolver: lp, Options: map[string]any{"allowedDomains": []any{"example.com"}}, Profile: providers.Profile{Email: "alice@EXAMPLE.com"}, WantErr: autherr.NameNotAllowed, WantMsg: "Sign-in user email is not from an allowed domain"},
		{Name: "local part unknown", Resolver: lp, Profile: providers.Profile{Email: "zed@example.com"}, WantErr: notFound, WantMsg: "User not found"},
		{Name: "local part unknown dangerous", Resolver: lp, Options: map[string]any{dangerous: true}, Profile: providers.Profile{Email: "Zed@example.com"}, WantRef: "user:default/zed", WantEnt: []string{"user:default/zed"}},
		{Name: "local part missing email", Resolver: lp, WantErr: plainErr, WantMsg: noEmail},
		{Name: "local part bad allowedDomains", Resolver: lp, Options: map[string]any{"allowedDomains": "example.com"}, WantOpenErr: true},

		{Name: "user_name", Resolver: pu, Claims: map[string]any{"user_name": "bob", "preferred_username": "alice"}, WantRef: "user:default/bob", WantEnt: []string{"user:default/bob"}},
		{Name: "preferred_username", Resolver: pu, Claims: map[string]any{"preferred_username": "Alice"}, WantRef: "user:default/alice", WantEnt: aliceEnt},
		{Name: "username unknown", Resolver: pu, Claims: map[string]any{"user_name": "zed"}, WantErr: notFound, WantMsg: "User not found"},
		{Name: "username unknown dangerous", Resolver: pu, Options: map[string]any{dangerous: true}, Claims: map[string]any{"user_name": "zed"}, WantRef: "user:default/zed", WantEnt: []string{"user:default/zed"}},
		{Name: "username missing", Resolver: pu, WantErr: plainErr, WantMsg: "Login failed, user profile does not contain a user_name or preferred_username claim"},
	}
}

// Open opens the named resolver with options over a catalog.
type Open func(t *testing.T, name string, options map[string]any, cat catalog.Catalog) (resolvers.SignInResolver, error)

// Run runs every case through open. Refs must come back lower-cased, as
// the built-ins return them.
func Run(t *testing.T, open Open) {
	cat, err := catalog.NewFileCatalog(Entities())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			r, err := open(t, c.Resolver, c.Options, cat)
			if c.WantOpenErr {
				if err == nil {
					t.Fatalf("opening %s with %v succeeded; want an error", c.Resolver, c.Options)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			res, err := r.Resolve(context.Background(), resolvers.SignInInput{
				ProviderID: "vcfsso", Profile: c.Profile,
				Result: &providers.Result{UserInfo: c.Claims, IDTokenClaims: c.Claims},
			})
			if c.WantErr != "" {
				if err == nil {
					t.Fatalf("got %+v, want %s", res, c.WantErr)
				}
				if autherr.NameOf(err) != c.WantErr || err.Error() != c.WantMsg {
					t.Fatalf("got %s %q, want %s %q", autherr.NameOf(err), err.Error(), c.WantErr, c.WantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %s: %v", autherr.NameOf(err), err)
			}
			ent := res.OwnershipEntityRefs
			if len(ent) == 0 {
				ent = []string{res.UserEntityRef}
			}
			if res.UserEntityRef != c.WantRef || !slices.Equal(ent, c.WantEnt) {
				t.Fatalf("got %s %v, want %s %v", res.UserEntityRef, ent, c.WantRef, c.WantEnt)
			}
		})
	}
}
