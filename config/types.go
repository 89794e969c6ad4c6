package config

import (
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// Config is the typed result of loading app-config files. Nothing downstream
// reads raw keys; everything Gatehouse uses is a field here.
type Config struct {
	App     App
	Backend Backend
	Auth    Auth
	Catalog Catalog
	// CatalogSource is gatehouse.catalog: which catalog users come from
	// (config/catalog.go).
	CatalogSource CatalogSource
	// Discovery is discovery.endpoints (config/catalog.go).
	Discovery Discovery
	// ExternalAccess is backend.auth.externalAccess (config/catalog.go).
	ExternalAccess []ExternalAccess
	// Ops is the gatehouse.metrics/shutdown/logging block (config/ops.go).
	Ops Ops
	// Modules is gatehouse.modules and the compilation cache under
	// gatehouse.dataDir (config/modules.go).
	Modules Modules
	// Sessions is gatehouse.sessions (config/sessions.go).
	Sessions Sessions
	// Files are the config files that were loaded, in merge order.
	Files []string
}

// App is the `app` block.
type App struct {
	// BaseURL is app.baseUrl (required): the default allowed origin and
	// postMessage target.
	BaseURL string
}

// Backend is the `backend` block.
type Backend struct {
	// BaseURL is backend.baseUrl (required); the auth base URL is
	// BaseURL + "/api/auth".
	BaseURL string
	Listen  Listen
	// CORS is backend.cors; nil means no CORS headers (config/backendhttp.go).
	CORS *httpedge.CORS
	// CSP are the backend.csp overrides of the default policy, in key order.
	CSP []httpedge.CSPDirective
	// HTTPS is backend.https.
	HTTPS HTTPS
	// Limits is backend.limits (Gatehouse's own), defaults filled in.
	Limits httpedge.Limits
	// Database is backend.database, defaults filled in (config/database.go).
	Database Database
}

// Listen is backend.listen.
type Listen struct {
	// Host is backend.listen.host; "" means all interfaces.
	Host string
	// Port is backend.listen.port; 7007 by default, as in Backstage.
	Port int
}

// Auth is the `auth` block.
type Auth struct {
	// Environment is auth.environment (read by the frontend; default
	// "development"). Gatehouse only uses it in the demo page.
	Environment string
	// SessionSecret is auth.session.secret. Required when any provider is
	// configured: it keys the sealed transaction cookie.
	SessionSecret string
	// BackstageTokenExpiration is auth.backstageTokenExpiration, default 1h,
	// clamped to [10m, 24h].
	BackstageTokenExpiration time.Duration
	// OmitIdentityTokenOwnershipClaim is auth.omitIdentityTokenOwnershipClaim,
	// default true as in auth-backend >= 0.28.
	OmitIdentityTokenOwnershipClaim bool
	// ExperimentalExtraAllowedOrigins are glob patterns of extra app origins.
	ExperimentalExtraAllowedOrigins []string
	// Providers maps provider id → environment name → settings.
	Providers map[string]map[string]*ProviderEnv
	// KeyStore is auth.keyStore (config/database.go).
	KeyStore KeyStore
	// OAuthServer is the authorization server for MCP clients and the CLI:
	// auth.clientIdMetadataDocuments, auth.experimentalDynamicClientRegistration,
	// auth.experimentalRefreshToken and gatehouse.oauth (config/oauthserver.go).
	OAuthServer OAuthServer
}

// ProviderEnv is auth.providers.<id>.<env>.
type ProviderEnv struct {
	// ProviderID and Env are the two map keys this came from.
	ProviderID string
	Env        string
	// Path is the key path of this block, e.g. "auth.providers.vcfsso.development",
	// for error messages.
	Path string

	// CallbackURL is callbackUrl; "" means <authBaseUrl>/<id>/handler/frame.
	CallbackURL string
	// SessionDuration is sessionDuration; 0 means unset (1000 days).
	SessionDuration time.Duration
	// AdditionalScopes is additionalScopes, split on whitespace, "|" and ",".
	AdditionalScopes []string
	SignIn           SignIn
	// SignOut is signOut (config/signout.go).
	SignOut SignOut

	// Settings are the provider's own settings, decoded by its package
	// (providers/builtin lists them): oidc.Config, vcfsso.Config or
	// vmwarecloud.Config.
	Settings providers.Config
}

// SignIn is signIn.
type SignIn struct {
	// ProfileTransforms is signIn.profileTransforms; empty means the
	// provider's default transform.
	ProfileTransforms []Step
	// Resolvers is signIn.resolvers, in order.
	Resolvers []Step
}

// Step is one entry of signIn.resolvers ({resolver: name, ...options}) or of
// signIn.profileTransforms ({transform: name, ...options}).
type Step struct {
	Name string
	// Options are every key of the entry except the name key; nil when none.
	Options map[string]any
	// Path is the key path of the entry, e.g.
	// "auth.providers.vcfsso.development.signIn.resolvers[1]".
	Path string
}

// Catalog is the `catalog` block.
type Catalog struct {
	// Locations is catalog.locations; Gatehouse reads the type: file ones.
	Locations []Location
}

// Location is one catalog.locations entry.
type Location struct {
	Type   string
	Target string
}
