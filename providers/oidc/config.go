package oidc

import (
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// Token endpoint authentication methods accepted in
// tokenEndpointAuthMethod.
const (
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
)

// Kind is Backstage's generic oidc provider block: the keys of
// @backstage/plugin-auth-backend-module-oidc-provider.
var Kind = providers.Kind{
	Keys: []string{
		"metadataUrl", "clientId", "clientSecret", "tokenEndpointAuthMethod",
		"tokenSignedResponseAlg", "prompt", "timeout", "startUrlSearchParams",
	},
	Required:         []string{"metadataUrl", "clientId", "clientSecret"},
	SecretKeys:       []string{"clientSecret"},
	DefaultTransform: "oidc",
	Decode:           func(s providers.Settings) providers.Config { return Decode(s) },
}

// Decode reads an oidc environment block, defaults filled in:
// client_secret_basic, RS256 and the providers.DefaultTimeout.
func Decode(s providers.Settings) Config {
	c := Config{
		MetadataURL:             s.String("metadataUrl"),
		ClientID:                s.String("clientId"),
		ClientSecret:            s.Secret("clientSecret"),
		TokenEndpointAuthMethod: AuthMethodBasic,
		TokenSignedResponseAlg:  "RS256",
		Prompt:                  s.String("prompt"),
		StartURLSearchParams:    s.StringMap("startUrlSearchParams"),
		Timeout:                 providers.DefaultTimeout,
	}
	if m := s.String("tokenEndpointAuthMethod"); m != "" {
		if m != AuthMethodBasic && m != AuthMethodPost {
			s.Problem("tokenEndpointAuthMethod", fmt.Sprintf("must be %q or %q, got %q", AuthMethodBasic, AuthMethodPost, m))
		} else {
			c.TokenEndpointAuthMethod = m
		}
	}
	if alg := s.String("tokenSignedResponseAlg"); alg != "" {
		c.TokenSignedResponseAlg = alg
	}
	if t, ok := s.Timeout("timeout"); ok {
		c.Timeout = t
	}
	return c
}

// Open opens the provider as opts.ProviderID, on opts' client and clock.
func (c Config) Open(opts providers.OpenOptions) (providers.Provider, error) {
	c.ProviderID, c.CallbackURL = opts.ProviderID, opts.CallbackURL
	c.HTTPClient, c.Logger, c.Now = opts.HTTPClient, opts.Logger, opts.Now
	return New(c)
}

// IdPTimeout is Timeout, or providers.DefaultTimeout when unset.
func (c Config) IdPTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return providers.DefaultTimeout
}
