package vmwarecloud

import (
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// DefaultConsoleEndpoint is the VMware Cloud Services console, used when
// consoleEndpoint is not configured.
const DefaultConsoleEndpoint = "https://console.cloud.vmware.com"

// Kind is Backstage's VMware Cloud Services provider block, plus
// Gatehouse's opt-in ID-token signature check (verifyIdTokenSignature,
// jwksUrl).
var Kind = providers.Kind{
	Keys:             []string{"clientId", "organizationId", "consoleEndpoint", "timeout", "verifyIdTokenSignature", "jwksUrl"},
	Required:         []string{"clientId", "organizationId"},
	ScopeName:        "vmware-cloud",
	DefaultTransform: DefaultTransform,
	Decode:           func(s providers.Settings) providers.Config { return Decode(s) },
}

// Decode reads a vmwareCloudServices environment block, defaults filled
// in: the public console and providers.DefaultTimeout.
func Decode(s providers.Settings) Config {
	c := Config{
		ClientID:        s.String("clientId"),
		OrganizationID:  s.String("organizationId"),
		ConsoleEndpoint: DefaultConsoleEndpoint,
		Timeout:         providers.DefaultTimeout,
		JWKSURL:         s.String("jwksUrl"),
	}
	if e := s.String("consoleEndpoint"); e != "" {
		c.ConsoleEndpoint = strings.TrimSuffix(e, "/")
	}
	if t, ok := s.Timeout("timeout"); ok {
		c.Timeout = t
	}
	c.VerifySignature, _ = s.Bool("verifyIdTokenSignature")
	return c
}

// Open opens the provider on opts' callback URL, client and clock.
func (c Config) Open(opts providers.OpenOptions) (providers.Provider, error) {
	c.CallbackURL, c.HTTPClient, c.Logger, c.Now = opts.CallbackURL, opts.HTTPClient, opts.Logger, opts.Now
	return New(c)
}

// IdPTimeout is Timeout, or providers.DefaultTimeout when unset.
func (c Config) IdPTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return providers.DefaultTimeout
}
