package providers

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultTimeout bounds each call to an IdP when a provider's timeout is
// not configured, as in Backstage.
const DefaultTimeout = 10 * time.Second

// CallbackURL is a provider's redirect_uri when callbackUrl is not
// configured: <authBaseURL>/<providerID>/handler/frame, the route the
// server serves the callback on.
func CallbackURL(authBaseURL, providerID string) string {
	return strings.TrimSuffix(authBaseURL, "/") + "/" + providerID + "/handler/frame"
}

// Settings reads the provider-specific keys of one
// auth.providers.<id>.<env> block. The config loader implements it: a
// getter finding a value of the wrong type records a problem at the key's
// path and returns the zero value, so that every problem of a file is
// reported in one run. Secret values never appear in problems.
type Settings interface {
	// String reads a string ("" when absent).
	String(key string) string
	// Secret reads a string whose value is never shown.
	Secret(key string) string
	// Bool reads a boolean; set is false when the key is absent.
	Bool(key string) (value, set bool)
	// Timeout reads a positive duration, or a plain number of
	// milliseconds as Backstage does; set is false when the key is absent
	// or wrong.
	Timeout(key string) (value time.Duration, set bool)
	// StringMap reads a map of strings (nil when absent).
	StringMap(key string) map[string]string
	// Problem records a problem with the value at key.
	Problem(key, message string)
}

// Config is a provider's own settings, decoded from its environment block
// with its defaults filled in (Dex's ConnectorConfig). Open opens it.
type Config interface {
	// Open opens the provider with opts. It contacts no IdP: discovery, if
	// any, happens on first use (Discoverer).
	Open(opts OpenOptions) (Provider, error)
	// IdPTimeout bounds each call to the IdP.
	IdPTimeout() time.Duration
}

// OpenOptions are what every provider is opened with besides its own Config.
type OpenOptions struct {
	// ProviderID is the auth.providers key, e.g. "vcfsso".
	ProviderID string
	// CallbackURL is the redirect_uri, never empty (see CallbackURL).
	CallbackURL string
	// HTTPClient makes every call to the IdP; nil means a client bounded by
	// the Config's IdPTimeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Kind describes one provider id Gatehouse serves: the keys its
// environment blocks hold and how to decode them. Adding a provider is
// writing a package with a Kind and listing it in providers/builtin.
type Kind struct {
	// Keys are the provider-specific keys, besides the keys every provider
	// reads (callbackUrl, sessionDuration, additionalScopes, signIn).
	Keys []string
	// Required keys must be present and non-empty.
	Required []string
	// SecretKeys are the keys whose values problems never show.
	SecretKeys []string
	// ScopeName names the provider in Backstage's "no longer supports the
	// scope option" message; "" means the provider id.
	ScopeName string
	// DefaultTransform is the profile transform used when
	// signIn.profileTransforms is empty.
	DefaultTransform string
	// Decode reads an environment block's provider-specific keys into the
	// provider's Config, defaults filled in.
	Decode func(Settings) Config
}

// Registry maps each provider id to its Kind.
type Registry map[string]Kind

// IDs are the registry's provider ids, sorted.
func (r Registry) IDs() []string {
	ids := make([]string, 0, len(r))
	for id := range r {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Defaults fills what every provider defaults alike: Now is time.Now,
// Logger slog.Default(), and HTTPClient a client bounded by timeout
// (DefaultTimeout when timeout is not positive).
func (e *OpenOptions) Defaults(timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.HTTPClient == nil {
		e.HTTPClient = &http.Client{Timeout: timeout}
	}
}
