package resolvers

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Names of the built-in sign-in resolvers.
const (
	EmailMatchingUserEntityProfileEmail     = "emailMatchingUserEntityProfileEmail"
	EmailLocalPartMatchingUserEntityName    = "emailLocalPartMatchingUserEntityName"
	PreferredUsernameMatchingUserEntityName = "preferredUsernameMatchingUserEntityName"
)

const optDangerous = "dangerouslyAllowSignInWithoutUserInCatalog"

// BuiltinResolvers returns the resolvers every provider offers: Backstage's
// two common resolvers (auth-node commonSignInResolvers) and
// preferredUsernameMatchingUserEntityName, which the VCF SSO module
// documents but Backstage does not register.
func BuiltinResolvers() map[string]ResolverFactory {
	return map[string]ResolverFactory{
		EmailMatchingUserEntityProfileEmail:     newEmailMatching,
		EmailLocalPartMatchingUserEntityName:    newEmailLocalPart,
		PreferredUsernameMatchingUserEntityName: newPreferredUsername,
	}
}

var errNoEmail = autherr.Plain("Login failed, user profile does not contain an email")

// signInWithCatalogUser is Backstage's ctx.signInWithCatalogUser: find the
// user, then its ownership refs; with a fallback name, a NotFound signs in
// as user:default/<fallback> without a catalog entity.
func signInWithCatalogUser(ctx context.Context, deps Deps, q catalog.Query, fallback string) (*SignInResult, error) {
	if deps.Catalog == nil {
		return nil, autherr.Plain("no catalog is configured for sign-in resolvers")
	}
	e, err := deps.Catalog.FindUser(ctx, q)
	if err != nil {
		if fallback != "" && autherr.IsNotFound(err) {
			ref, perr := catalog.ParseEntityRef(fallback, "user", "default")
			if perr != nil {
				return nil, perr
			}
			sub := ref.String()
			return &SignInResult{UserEntityRef: sub, OwnershipEntityRefs: []string{sub}}, nil
		}
		return nil, err
	}
	return &SignInResult{UserEntityRef: catalog.RefOf(e), OwnershipEntityRefs: catalog.OwnershipEntityRefs(e)}, nil
}

// signInByName signs in the user entity named name; with dangerous, an
// unknown name signs in as user:default/<name> without a catalog entity.
func signInByName(ctx context.Context, deps Deps, name string, dangerous bool) (*SignInResult, error) {
	fallback := ""
	if dangerous {
		fallback = userRef(name)
	}
	return signInWithCatalogUser(ctx, deps, catalog.Query{EntityRef: userRef(name)}, fallback)
}

// userRef is an entity-ref query for a bare user name, which Backstage
// passes as {name} without parsing it.
func userRef(name string) string { return "user:default/" + name }

type emailMatching struct {
	deps      Deps
	dangerous bool
}

func newEmailMatching(opts map[string]any, deps Deps) (SignInResolver, error) {
	o := newOptions(opts)
	r := &emailMatching{deps: deps, dangerous: o.bool(optDangerous)}
	// Accepted by Backstage's schema but ignored by it; ignored here too.
	o.strings("allowedDomains")
	return r, o.err()
}

var plusAddress = regexp.MustCompile(`^([^@+]+)(\+[^@]+)?(@.*)$`)

// Resolve matches spec.profile.email; on NotFound it retries with any
// +tag removed (a+b@x → a@x), as Backstage does.
func (r *emailMatching) Resolve(ctx context.Context, in SignInInput) (*SignInResult, error) {
	email := in.Profile.Email
	if email == "" {
		return nil, errNoEmail
	}
	res, err := signInWithCatalogUser(ctx, r.deps, catalog.Query{Filter: []map[string]string{{"spec.profile.email": email}}}, "")
	if err == nil || !autherr.IsNotFound(err) {
		return res, err
	}
	noPlus := email
	if m := plusAddress.FindStringSubmatch(email); m != nil {
		noPlus = m[1] + m[3]
	}
	fallback := ""
	if r.dangerous {
		fallback = noPlus
	}
	return signInWithCatalogUser(ctx, r.deps, catalog.Query{Filter: []map[string]string{{"spec.profile.email": noPlus}}}, fallback)
}

type emailLocalPart struct {
	deps           Deps
	dangerous      bool
	allowedDomains []string
	checkDomains   bool
}

func newEmailLocalPart(opts map[string]any, deps Deps) (SignInResolver, error) {
	o := newOptions(opts)
	r := &emailLocalPart{deps: deps, dangerous: o.bool(optDangerous)}
	r.allowedDomains, r.checkDomains = o.strings("allowedDomains")
	return r, o.err()
}

// Resolve matches the email's local part to the entity name, after the
// allowedDomains check (exact and case-sensitive, as in Backstage).
func (r *emailLocalPart) Resolve(ctx context.Context, in SignInInput) (*SignInResult, error) {
	email := in.Profile.Email
	if email == "" {
		return nil, errNoEmail
	}
	local, domain, _ := strings.Cut(email, "@")
	if r.checkDomains && !slices.Contains(r.allowedDomains, domain) {
		return nil, autherr.NotAllowed("Sign-in user email is not from an allowed domain")
	}
	return signInByName(ctx, r.deps, local, r.dangerous)
}

type preferredUsername struct {
	deps      Deps
	dangerous bool
}

func newPreferredUsername(opts map[string]any, deps Deps) (SignInResolver, error) {
	o := newOptions(opts)
	r := &preferredUsername{deps: deps, dangerous: o.bool(optDangerous)}
	return r, o.err()
}

// Resolve matches VCF SSO's user_name claim, else the standard
// preferred_username, to the entity name.
func (r *preferredUsername) Resolve(ctx context.Context, in SignInInput) (*SignInResult, error) {
	name := claimString(in.Result, "user_name")
	if name == "" {
		name = claimString(in.Result, "preferred_username")
	}
	if name == "" {
		return nil, autherr.Plain("Login failed, user profile does not contain a user_name or preferred_username claim")
	}
	return signInByName(ctx, r.deps, name, r.dangerous)
}

// claimString reads a string claim from userinfo, else from the ID token:
// VCF deployments differ in which of the two carries it.
func claimString(res *providers.Result, key string) string {
	if res == nil {
		return ""
	}
	if s, ok := res.UserInfo[key].(string); ok && s != "" {
		return s
	}
	s, _ := res.IDTokenClaims[key].(string)
	return s
}
