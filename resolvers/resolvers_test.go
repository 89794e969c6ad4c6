package resolvers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/keypath"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/resolvertest"
)

func TestBuiltinConformance(t *testing.T) {
	resolvertest.Run(t, func(t *testing.T, name string, opts map[string]any, cat catalog.Catalog) (resolvers.SignInResolver, error) {
		return resolvers.BuiltinResolvers()[name](opts, resolvers.Deps{Catalog: cat})
	})
}

// fixed answers with a fixed result or error and counts its calls.
type fixed struct {
	res   *resolvers.SignInResult
	err   error
	calls int
}

func (f *fixed) Resolve(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
	f.calls++
	return f.res, f.err
}

func chainOf(t *testing.T, rs ...*fixed) *resolvers.Chain {
	t.Helper()
	factories := map[string]resolvers.ResolverFactory{}
	var steps []resolvers.Step
	for i, r := range rs {
		name := fmt.Sprintf("r%d", i)
		factories[name] = func(map[string]any, resolvers.Deps) (resolvers.SignInResolver, error) { return r, nil }
		steps = append(steps, resolvers.Step{Name: name})
	}
	c, err := resolvers.NewChain(steps, factories, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChainOrder(t *testing.T) {
	ctx := context.Background()
	nf := func() *fixed { return &fixed{err: autherr.NotFound("User not found")} }
	match := &fixed{res: &resolvers.SignInResult{UserEntityRef: "User:Default/Alice", OwnershipEntityRefs: []string{"group:default/Team-A"}}}
	a, b, after := nf(), nf(), nf()
	res, err := chainOf(t, a, b, match, after).Resolve(ctx, resolvers.SignInInput{})
	if err != nil {
		t.Fatal(err)
	}
	if res.UserEntityRef != "user:default/alice" || res.Resolver != "r2" || strings.Join(res.OwnershipEntityRefs, ",") != "user:default/alice,group:default/team-a" {
		t.Errorf("NotFound → NotFound → match = %+v", res)
	}
	if a.calls != 1 || b.calls != 1 || after.calls != 0 {
		t.Errorf("calls = %d %d %d, want 1 1 0", a.calls, b.calls, after.calls)
	}

	stop := &fixed{err: autherr.NotAllowed("Sign-in user email is not from an allowed domain")}
	later := &fixed{res: &resolvers.SignInResult{UserEntityRef: "user:default/alice"}}
	_, err = chainOf(t, nf(), stop, later).Resolve(ctx, resolvers.SignInInput{})
	if autherr.NameOf(err) != autherr.NameNotAllowed || later.calls != 0 {
		t.Errorf("NotAllowed did not stop the chain: %v, later calls %d", err, later.calls)
	}

	_, err = chainOf(t, nf(), nf()).Resolve(ctx, resolvers.SignInInput{})
	if autherr.NameOf(err) != autherr.NameError || !strings.HasPrefix(err.Error(), "Failed to sign-in, unable to resolve user identity. Please verify") {
		t.Errorf("all NotFound: %s %v", autherr.NameOf(err), err)
	}
	// The unresolved answer is classified by the sentinel, yet on the wire
	// stays exactly Backstage's plain Error with no cause.
	var wire *autherr.Error
	if !errors.Is(err, resolvers.ErrUnresolved) || !errors.As(err, &wire) || wire.Cause != nil ||
		wire.Message != "Failed to sign-in, unable to resolve user identity. Please verify that your catalog contains the expected User entities that would match your configured sign-in resolver." {
		t.Errorf("all NotFound is not ErrUnresolved with Backstage's message: %#v", err)
	}
	if _, err := chainOf(t, nf(), stop).Resolve(ctx, resolvers.SignInInput{}); errors.Is(err, resolvers.ErrUnresolved) {
		t.Errorf("a refusal is classified as unresolved: %v", err)
	}

	bad := &fixed{res: &resolvers.SignInResult{UserEntityRef: "user:default/a", ExtraClaims: map[string]any{"sub": "x"}}}
	if _, err := chainOf(t, bad).Resolve(ctx, resolvers.SignInInput{}); err == nil || !strings.Contains(err.Error(), `extra claim "sub" is reserved`) {
		t.Errorf("reserved extra claim: %v", err)
	}
}

func TestChainConfigProblems(t *testing.T) {
	steps := []resolvers.Step{
		{Name: "emailMatchingUserEntityProfileEmail", Path: "auth.providers.vcfsso.development.signIn.resolvers[0]"},
		{Name: "usernameMatchingUserEntityName", Path: "auth.providers.vcfsso.development.signIn.resolvers[1]"},
		{Name: "emailLocalPartMatchingUserEntityName", Options: map[string]any{"allowedDomain": []any{"x"}}, Path: "auth.providers.vcfsso.development.signIn.resolvers[2]"},
	}
	_, err := resolvers.NewChain(steps, resolvers.BuiltinResolvers(), resolvers.Deps{})
	ps, ok := err.(keypath.Problems)
	if !ok || len(ps) != 2 {
		t.Fatalf("err = %v, want two problems", err)
	}
	if got := ps[0].String(); got != "auth.providers.vcfsso.development.signIn.resolvers[1]: Sign-in resolver 'usernameMatchingUserEntityName' is not available" {
		t.Errorf("problem 0 = %s", got)
	}
	if got := ps[1].String(); !strings.Contains(got, `resolvers[2]: Invalid sign-in resolver options, unknown option "allowedDomain"`) {
		t.Errorf("problem 1 = %s", got)
	}
}

func TestTransforms(t *testing.T) {
	ctx := context.Background()
	tr := func(name string) *resolvers.Transforms {
		t.Helper()
		x, err := resolvers.NewTransforms(nil, name, resolvers.BuiltinTransforms())
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, c := range []struct {
		name      string
		transform string
		ui, id    map[string]any
		want      providers.Profile
	}{
		{"vcfsso acct and name", "vcfsso", map[string]any{"acct": "a@x.com", "name": "Alice", "user_name": "alice"}, nil, providers.Profile{Email: "a@x.com", DisplayName: "Alice"}},
		{"vcfsso email fallback, display from acct", "vcfsso", map[string]any{"email": "e@x.com", "acct": "a@x.com"}, nil, providers.Profile{Email: "a@x.com", DisplayName: "a@x.com"}},
		{"vcfsso email only, user_name display", "vcfsso", map[string]any{"email": "e@x.com", "user_name": "eve"}, nil, providers.Profile{Email: "e@x.com", DisplayName: "eve"}},
		{"vcfsso empty name wins", "vcfsso", map[string]any{"acct": "a@x.com", "name": ""}, nil, providers.Profile{Email: "a@x.com"}},
		{"vcfsso ID-token fallback", "vcfsso", nil, map[string]any{"acct": "a@x.com", "name": "Alice", "picture": "http://p"}, providers.Profile{Email: "a@x.com", DisplayName: "Alice", Picture: "http://p"}},
		{"oidc verified email", "oidc", map[string]any{"email": "a@x.com", "email_verified": true, "name": "A"}, nil, providers.Profile{Email: "a@x.com", DisplayName: "A"}},
		{"oidc unverified email dropped", "oidc", map[string]any{"email": "a@x.com", "name": "A"}, nil, providers.Profile{DisplayName: "A"}},
	} {
		got, err := tr(c.transform).Apply(ctx, "vcfsso", &providers.Result{UserInfo: c.ui, IDTokenClaims: c.id})
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	_, err := resolvers.NewTransforms([]resolvers.Step{{Name: "nope", Path: "p.signIn.profileTransforms[0]"}}, "oidc", resolvers.BuiltinTransforms())
	if err == nil || err.Error() != "p.signIn.profileTransforms[0]: Profile transform 'nope' is not available" {
		t.Errorf("unknown transform: %v", err)
	}
}

// BenchmarkChainFileCatalog resolves through a two-step chain (email, then
// user name) over a 1,000-user file catalog.
func BenchmarkChainFileCatalog(b *testing.B) {
	var ents []catalog.Entity
	for i := range 1000 {
		ents = append(ents, catalog.Entity{Kind: "User", Metadata: catalog.Metadata{Name: fmt.Sprintf("user%d", i)},
			Spec: map[string]any{"profile": map[string]any{"email": fmt.Sprintf("user%d@example.com", i)}, "memberOf": []any{"team-a"}}})
	}
	ents = append(ents, catalog.Entity{Kind: "Group", Metadata: catalog.Metadata{Name: "team-a"}})
	cat, err := catalog.NewFileCatalog(ents)
	if err != nil {
		b.Fatal(err)
	}
	chain, err := resolvers.NewChain([]resolvers.Step{{Name: resolvers.EmailMatchingUserEntityProfileEmail}, {Name: resolvers.PreferredUsernameMatchingUserEntityName}},
		resolvers.BuiltinResolvers(), resolvers.Deps{Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	in := resolvers.SignInInput{Profile: providers.Profile{Email: "user737@example.com"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.Resolve(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVMwareCloudTransform(t *testing.T) {
	tr, err := resolvers.NewTransforms(nil, resolvers.TransformVMwareCloud, resolvers.BuiltinTransforms())
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any {
		return map[string]any{"email": "a@x.com", "given_name": "Ada", "family_name": "Lovelace", "context_name": "org-1"}
	}
	for _, c := range []struct {
		name    string
		idToken string
		claims  func(map[string]any)
		want    providers.Profile
		wantErr string
	}{
		{name: "ok", idToken: "t", want: providers.Profile{DisplayName: "Ada Lovelace", Email: "a@x.com"}},
		{name: "no id token", wantErr: "Failed to parse id token and get profile info, missing token from session"},
		{name: "missing claims", idToken: "t", claims: func(m map[string]any) { delete(m, "email"); delete(m, "context_name") }, wantErr: "ID token missing required claims: email, context_name"},
		{name: "wrong types", idToken: "t", claims: func(m map[string]any) { m["given_name"] = 1.0; m["family_name"] = nil }, wantErr: "ID token claims type mismatch: given_name, family_name"},
		{name: "org mismatch", idToken: "t", claims: func(m map[string]any) { m["context_name"] = "org-2" }, wantErr: "ID token organizationId mismatch"},
	} {
		claims := good()
		if c.claims != nil {
			c.claims(claims)
		}
		res := &providers.Result{Session: providers.Session{IDToken: c.idToken}, IDTokenClaims: claims, Attributes: map[string]any{"organizationId": "org-1"}}
		got, err := tr.Apply(context.Background(), "vmwareCloudServices", res)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr || autherr.NameOf(err) != autherr.NameError {
				t.Errorf("%s: err = %v, want Error %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v", c.name, got, err)
		}
	}
}
