// Package vcfsso is the VCF SSO provider: standard OIDC by discovery against
// the VCF Identity Broker (issuer https://<host>/acs/t/CUSTOMER/), wire-
// compatible with TeraSky's @terasky/backstage-plugin-vcfsso-auth-backend.
//
// What differs from plain oidc lives elsewhere: the profile transform for
// VCF SSO's non-standard claims is the built-in "vcfsso" transform in
// package resolvers (acct is the email, user_name the short name), and the
// userinfo call falls back to the ID-token claims when it fails, because VCF
// deployments differ in what that endpoint answers.
package vcfsso

import (
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
)

// ID is the provider id in auth.providers and in the routes.
const ID = "vcfsso"

// DefaultTransform is the profile transform used when
// signIn.profileTransforms is empty.
const DefaultTransform = "vcfsso"

// New opens a VCF SSO provider from OIDC settings.
func New(cfg oidc.Config) (*oidc.Provider, error) {
	cfg.ProviderID = ID
	cfg.UserInfoFallback = true
	return oidc.New(cfg)
}
