// Package resolvers turns what a provider learned into a Backstage identity,
// in two steps as Backstage's auth-node does: profile transforms build the
// profile, then sign-in resolvers, tried in configured order by a Chain, find
// the user's entity ref. Built-ins live here; WebAssembly ones in resolvers/wasm.
package resolvers

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// TransformInput is what a profile transform sees.
type TransformInput struct {
	ProviderID string
	Result     *providers.Result
	// Profile is the profile produced by the previous transform; empty for
	// the first one.
	Profile providers.Profile
}

// ProfileTransform builds or adjusts the user profile.
type ProfileTransform interface {
	Transform(ctx context.Context, in TransformInput) (providers.Profile, error)
}

// SignInInput is what a sign-in resolver sees.
type SignInInput struct {
	ProviderID string
	Profile    providers.Profile
	Result     *providers.Result
}

// SignInResult names the signed-in user. Gatehouse validates the refs and
// issues the Backstage token itself.
type SignInResult struct {
	// UserEntityRef is the full, lower-cased ref, e.g. "user:default/alice".
	UserEntityRef string
	// OwnershipEntityRefs starts with UserEntityRef; nil means [UserEntityRef].
	OwnershipEntityRefs []string
	// ExtraClaims are added to the token; the reserved claims cannot be set.
	ExtraClaims map[string]any
	// Resolver is set by the Chain: the name of the resolver that answered.
	Resolver string
}

// SignInResolver finds the Backstage user for a profile. It returns an
// autherr NotFound to let the chain try the next resolver; any other error
// stops the sign-in.
type SignInResolver interface {
	Resolve(ctx context.Context, in SignInInput) (*SignInResult, error)
}
