package vcfsso

import (
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
)

// Kind is the vcfsso provider block: TeraSky's VCF SSO module reuses
// Backstage's oidc authenticator, so it reads the same keys.
var Kind = providers.Kind{
	Keys:             oidc.Kind.Keys,
	Required:         oidc.Kind.Required,
	SecretKeys:       oidc.Kind.SecretKeys,
	DefaultTransform: DefaultTransform,
	Decode:           func(s providers.Settings) providers.Config { return Config{oidc.Decode(s)} },
}

// Config is a vcfsso environment block: oidc's settings, opened with the
// userinfo fallback VCF SSO needs.
type Config struct {
	oidc.Config
}

// Open opens a VCF SSO provider (New) on opts' client and clock.
func (c Config) Open(opts providers.OpenOptions) (providers.Provider, error) {
	o := c.Config
	o.CallbackURL, o.HTTPClient, o.Logger, o.Now = opts.CallbackURL, opts.HTTPClient, opts.Logger, opts.Now
	return New(o)
}
