package resolvers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Names of the built-in profile transforms.
const (
	// TransformOIDC is Backstage's oidc provider transform.
	TransformOIDC = "oidc"
	// TransformVCFSSO is the vcfsso module's transform for VCF SSO claims.
	TransformVCFSSO = "vcfsso"
	// TransformVMwareCloud is the VMware Cloud Services module's transform.
	TransformVMwareCloud = "vmwareCloudServices"
)

// BuiltinTransforms returns the built-in profile transforms.
func BuiltinTransforms() map[string]TransformFactory {
	return map[string]TransformFactory{
		TransformOIDC:        noOptions(transformFunc(oidcTransform)),
		TransformVCFSSO:      noOptions(transformFunc(vcfssoTransform)),
		TransformVMwareCloud: noOptions(checkedTransformFunc(vmwareCloudTransform)),
	}
}

type checkedTransformFunc func(*providers.Result) (providers.Profile, error)

// Transform ignores the previous profile, like transformFunc, and may
// refuse the result.
func (f checkedTransformFunc) Transform(_ context.Context, in TransformInput) (providers.Profile, error) {
	return f(in.Result)
}

// vmwareClaims are the ID-token claims the VMware Cloud transform requires.
var vmwareClaims = []string{"email", "given_name", "family_name", "context_name"}

// vmwareCloudTransform is the transform of Backstage's VMware Cloud
// Services auth module (auth-backend-module-vmware-cloud-provider), with its
// messages: the ID token must carry the four string claims, and
// context_name must be the configured organization, which is the module's
// only organization check.
func vmwareCloudTransform(res *providers.Result) (providers.Profile, error) {
	if res.Session.IDToken == "" {
		return providers.Profile{}, autherr.Plain("Failed to parse id token and get profile info, missing token from session")
	}
	c := res.IDTokenClaims
	var missing, mistyped []string
	for _, k := range vmwareClaims {
		v, ok := c[k]
		if !ok {
			missing = append(missing, k)
		} else if _, ok := v.(string); !ok {
			mistyped = append(mistyped, k)
		}
	}
	if len(missing) > 0 {
		return providers.Profile{}, autherr.Plain("ID token missing required claims: %s", strings.Join(missing, ", "))
	}
	if len(mistyped) > 0 {
		return providers.Profile{}, autherr.Plain("ID token claims type mismatch: %s", strings.Join(mistyped, ", "))
	}
	if org, _ := res.Attributes["organizationId"].(string); c["context_name"] != org {
		return providers.Profile{}, autherr.Plain("ID token organizationId mismatch")
	}
	return providers.Profile{DisplayName: c["given_name"].(string) + " " + c["family_name"].(string), Email: c["email"].(string)}, nil
}

type transformFunc func(*providers.Result) providers.Profile

// Transform ignores the previous profile: these transforms build one from
// the provider result, as Backstage's provider transforms do.
func (f transformFunc) Transform(_ context.Context, in TransformInput) (providers.Profile, error) {
	return f(in.Result), nil
}

func noOptions(t ProfileTransform) TransformFactory {
	return func(opts map[string]any) (ProfileTransform, error) {
		if len(opts) > 0 {
			return nil, fmt.Errorf("profile transform does not accept options")
		}
		return t, nil
	}
}

// oidcTransform is the default profile transform of Backstage's oidc auth
// module (auth-backend-module-oidc-provider): email
// only when email_verified is true.
func oidcTransform(res *providers.Result) providers.Profile {
	ui := res.UserInfo
	var p providers.Profile
	if v, _ := ui["email_verified"].(bool); v {
		p.Email, _ = ui["email"].(string)
	}
	p.Picture, _ = ui["picture"].(string)
	p.DisplayName, _ = ui["name"].(string)
	return p
}

// vcfssoTransform is the vcfsso module's transform: email =
// acct ?? email, displayName = name ?? acct ?? user_name. It reads userinfo
// and falls back to the ID-token claims, because VCF deployments differ in
// which one carries them.
func vcfssoTransform(res *providers.Result) providers.Profile {
	get := func(k string) (string, bool) {
		if v, ok := res.UserInfo[k]; ok && v != nil {
			s, ok := v.(string)
			return s, ok
		}
		if v, ok := res.IDTokenClaims[k]; ok && v != nil {
			s, ok := v.(string)
			return s, ok
		}
		return "", false
	}
	acct, hasAcct := get("acct")
	userName, hasUser := get("user_name")
	var p providers.Profile
	if hasAcct {
		p.Email = acct
	} else {
		p.Email, _ = get("email")
	}
	switch name, ok := get("name"); {
	case ok:
		p.DisplayName = name
	case hasAcct:
		p.DisplayName = acct
	case hasUser:
		p.DisplayName = userName
	}
	p.Picture, _ = get("picture")
	return p
}

// Transforms runs profile transforms in configured order, each seeing the
// profile the previous one built.
type Transforms struct {
	steps []ProfileTransform
}

// NewTransforms opens the configured transforms; none configured means the
// provider's default one. Unknown names and bad options are keypath.Problems.
func NewTransforms(steps []Step, defaultName string, factories map[string]TransformFactory) (*Transforms, error) {
	if len(steps) == 0 {
		steps = []Step{{Name: defaultName, Path: "(default transform)"}}
	}
	ts, err := openSteps(steps, factories, "Profile transform '%s' is not available",
		func(f TransformFactory, s Step) (ProfileTransform, error) { return f(s.Options) })
	if err != nil {
		return nil, err
	}
	return &Transforms{steps: ts}, nil
}

// Apply runs the transforms on a provider result.
func (t *Transforms) Apply(ctx context.Context, providerID string, result *providers.Result) (providers.Profile, error) {
	var p providers.Profile
	for _, s := range t.steps {
		var err error
		if p, err = s.Transform(ctx, TransformInput{ProviderID: providerID, Result: result, Profile: p}); err != nil {
			return providers.Profile{}, err
		}
	}
	return p, nil
}

// canonicalSignInResult validates a resolver's result and returns it in
// canonical form: refs parsed and lower-cased, the user ref first among the
// ownership refs, those deduplicated, reserved extra claims refused. res is
// not modified.
func canonicalSignInResult(res *SignInResult) (*SignInResult, error) {
	u, err := catalog.ParseEntityRef(res.UserEntityRef, "user", "default")
	if err != nil {
		return nil, err
	}
	out := &SignInResult{UserEntityRef: u.String()}
	out.OwnershipEntityRefs = []string{out.UserEntityRef}
	for _, r := range res.OwnershipEntityRefs {
		ref, err := catalog.ParseEntityRef(r, "group", "default")
		if err != nil {
			return nil, err
		}
		if s := ref.String(); !slices.Contains(out.OwnershipEntityRefs, s) {
			out.OwnershipEntityRefs = append(out.OwnershipEntityRefs, s)
		}
	}
	for k, v := range res.ExtraClaims {
		if identity.IsReservedClaim(k) {
			return nil, fmt.Errorf("extra claim %q is reserved", k)
		}
		if out.ExtraClaims == nil {
			out.ExtraClaims = map[string]any{}
		}
		out.ExtraClaims[k] = v
	}
	return out, nil
}
