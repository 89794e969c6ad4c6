package config

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
)

// This file reads the configuration of Backstage's OAuth 2.0 authorization
// server for MCP clients and the Backstage CLI (spec
// backstage-oidc-provider.md §1), plus Gatehouse's own gatehouse.oauth
// block. It only decodes and validates; internal/gateway/oauth.go turns it
// into server/oauth's Config.
//
//	auth:
//	  clientIdMetadataDocuments:            # alias: experimentalClientIdMetadataDocuments
//	    enabled: true
//	    allowedClientIdPatterns: [...]
//	    allowedRedirectUriPatterns: [...]
//	  experimentalDynamicClientRegistration:
//	    enabled: false
//	    allowedRedirectUriPatterns: [...]
//	  experimentalRefreshToken:
//	    enabled: true
//	    tokenLifetime: { days: 30 }
//	    maxRotationLifetime: { years: 1 }
//	    maxTokensPerUser: 20
//	    dangerouslyDisableCatalogPresenceCheck: false
//	gatehouse:
//	  oauth:
//	    allowPlainPkce: false

// Key paths of the blocks read here.
const (
	cimdPath      = "auth.clientIdMetadataDocuments"
	cimdAliasPath = "auth.experimentalClientIdMetadataDocuments"
	dcrPath       = "auth.experimentalDynamicClientRegistration"
	refreshPath   = "auth.experimentalRefreshToken"
)

var (
	cimdKeys    = []string{"enabled", "allowedClientIdPatterns", "allowedRedirectUriPatterns"}
	dcrKeys     = []string{"enabled", "allowedRedirectUriPatterns"}
	refreshKeys = []string{"enabled", "tokenLifetime", "maxRotationLifetime", "maxTokensPerUser", "dangerouslyDisableCatalogPresenceCheck"}
	oauthKeys   = []string{"allowPlainPkce"}
)

// Backstage's refresh-token defaults (OfflineAccessService.create, spec §4.4).
const (
	// DefaultRefreshTokenLifetime is the idle (sliding) lifetime of a
	// refresh session: {days: 30}.
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	// DefaultRefreshMaxRotationLifetime is the absolute lifetime of a
	// refresh session from first issuance: {years: 1} = 365 days.
	DefaultRefreshMaxRotationLifetime = 365 * 24 * time.Hour
	// DefaultRefreshMaxTokensPerUser is the per-user cap on refresh
	// sessions.
	DefaultRefreshMaxTokensPerUser = 20
)

// CLIClientIDPath is the path, under the auth plugin's external base URL,
// of the Backstage CLI's client metadata document; the URL is the CLI's
// CIMD client_id and always allowed when CIMD is on.
const CLIClientIDPath = "/.well-known/oauth-client/cli.json"

// The default allowlists are Backstage's, kept once in clients/cimd
// (cimd.DefaultClientIDPatterns, DefaultRedirectURIPatterns,
// DefaultDCRRedirectURIPatterns), where they are matched.

// OAuthServer is the configuration of the authorization server for MCP
// clients and the CLI. Defaults are filled in; every pattern list has been
// checked with ValidateURLPattern, every lifetime is a positive whole
// number of seconds, and MaxRotationLifetime > TokenLifetime.
type OAuthServer struct {
	// DCR is auth.experimentalDynamicClientRegistration.
	DCR DynamicClientRegistration
	// CIMD is auth.clientIdMetadataDocuments, or its experimental alias
	// when the stable key is absent (see CIMDSource).
	CIMD ClientIDMetadataDocuments
	// CIMDSource is the key path CIMD was read from: cimdPath, the alias
	// path, or "" when neither is configured.
	CIMDSource string
	// RefreshTokens is auth.experimentalRefreshToken.
	RefreshTokens RefreshTokens
	// AllowPlainPKCE is gatehouse.oauth.allowPlainPkce (default false):
	// false refuses code_challenge_method=plain and does not advertise
	// it; true restores Backstage's behaviour (spec §6.1).
	AllowPlainPKCE bool
}

// DynamicClientRegistration is auth.experimentalDynamicClientRegistration.
type DynamicClientRegistration struct {
	// Enabled mounts the authorization routes and POST /v1/register.
	Enabled bool
	// AllowedRedirectURIPatterns: every redirect_uri registered at
	// /v1/register must match one. Default cimd.DefaultDCRRedirectURIPatterns.
	AllowedRedirectURIPatterns []string
}

// ClientIDMetadataDocuments is auth.clientIdMetadataDocuments.
type ClientIDMetadataDocuments struct {
	// Enabled accepts CIMD clients, mounts the authorization routes and
	// serves the CLI's client metadata document.
	Enabled bool
	// ConfiguredClientIDPatterns is allowedClientIdPatterns as written;
	// nil when the key is absent. Use AllowedClientIDPatterns for the
	// effective list.
	ConfiguredClientIDPatterns []string
	// AllowedRedirectURIPatterns: a CIMD redirect_uri at /v1/authorize
	// must match one (as well as the document). Default
	// cimd.DefaultRedirectURIPatterns.
	AllowedRedirectURIPatterns []string
}

// AllowedClientIDPatterns is the effective client_id allowlist, as
// Backstage's getCimdConfig computes it: without allowedClientIdPatterns,
// cimd.DefaultClientIDPatterns followed by the CLI's client_id; with it,
// the configured entries (in order, de-duplicated) followed by the CLI's
// client_id, so the built-in third-party entries are dropped and the CLI
// stays allowed. authBaseURL is the auth plugin's external base URL
// (normally backend.baseUrl + "/api/auth").
func (c ClientIDMetadataDocuments) AllowedClientIDPatterns(authBaseURL string) []string {
	return cimd.ClientIDAllowlist(c.ConfiguredClientIDPatterns, strings.TrimRight(authBaseURL, "/")+CLIClientIDPath)
}

// RefreshTokens is auth.experimentalRefreshToken.
type RefreshTokens struct {
	// Enabled makes /v1/token issue refresh tokens for the offline_access
	// scope and accept grant_type=refresh_token. It mounts no route.
	Enabled bool
	// TokenLifetime is the idle lifetime (whole seconds, > 0).
	TokenLifetime time.Duration
	// MaxRotationLifetime is the absolute lifetime (whole seconds,
	// > TokenLifetime).
	MaxRotationLifetime time.Duration
	// MaxTokensPerUser caps a user's refresh sessions (> 0).
	MaxTokensPerUser int
	// DangerouslyDisableCatalogPresenceCheck skips the catalog lookup of
	// the user on every refresh.
	DangerouslyDisableCatalogPresenceCheck bool
}

// Routes that depend on the configuration (spec §1.2), relative to the
// auth base URL. The discovery document, JWKS, cli.json and userinfo are
// always mounted.
const (
	RouteAuthorize = "GET /v1/authorize"
	RouteSession   = "GET /v1/sessions/:sessionId"
	RouteApprove   = "POST /v1/sessions/:sessionId/approve"
	RouteReject    = "POST /v1/sessions/:sessionId/reject"
	RouteToken     = "POST /v1/token"
	RouteRevoke    = "POST /v1/revoke"
	RouteRegister  = "POST /v1/register"
)

// Enabled reports whether the authorization server is on at all: DCR or
// CIMD is enabled, so the authorization routes are mounted. Refresh tokens
// alone turn nothing on (they only change what /v1/token does).
func (o OAuthServer) Enabled() bool { return o.AuthorizationRoutes() }

// AuthorizationRoutes reports whether /v1/authorize, /v1/sessions/:id
// (+ approve, reject), /v1/token and /v1/revoke are mounted: DCR or CIMD.
// Off, they answer Backstage's 404 and the discovery document still
// advertises authorization_endpoint and token_endpoint.
func (o OAuthServer) AuthorizationRoutes() bool { return o.DCR.Enabled || o.CIMD.Enabled }

// RegistrationRoute reports whether POST /v1/register is mounted: DCR only.
func (o OAuthServer) RegistrationRoute() bool { return o.DCR.Enabled }

// ServesCLIClientDocument reports whether /.well-known/oauth-client/cli.json
// answers with the document (CIMD on); the route is always mounted and
// otherwise answers a 404 JSON error.
func (o OAuthServer) ServesCLIClientDocument() bool { return o.CIMD.Enabled }

// AcceptsCIMDClients reports whether a client_id that is a CIMD URL is
// looked up as a metadata document. With only DCR on, such a client_id
// fails with "Client ID metadata documents not enabled"; with only CIMD
// on, previously registered DCR clients still work.
func (o OAuthServer) AcceptsCIMDClients() bool { return o.CIMD.Enabled }

// IssuesRefreshTokens reports whether the offline_access scope yields
// refresh tokens and grant_type=refresh_token is accepted (and
// advertised). Off, grant_type=refresh_token is refused with
// invalid_request "Refresh tokens are not enabled" and offline_access
// yields no refresh token. Only meaningful when Enabled.
func (o OAuthServer) IssuesRefreshTokens() bool { return o.RefreshTokens.Enabled }

// MountedRoutes lists the configuration-dependent routes that are mounted,
// in the order of the Route constants. Mounting is decided once at start.
func (o OAuthServer) MountedRoutes() []string {
	var out []string
	if o.AuthorizationRoutes() {
		out = append(out, RouteAuthorize, RouteSession, RouteApprove, RouteReject, RouteToken, RouteRevoke)
	}
	if o.RegistrationRoute() {
		out = append(out, RouteRegister)
	}
	return out
}

// decodeOAuthServer reads the three auth blocks and gatehouse.oauth.
func (d *decoder) decodeOAuthServer(raw map[string]any, cfg *Config) {
	o := &cfg.Auth.OAuthServer
	o.DCR.AllowedRedirectURIPatterns = cimd.DefaultDCRRedirectURIPatterns()
	o.CIMD.AllowedRedirectURIPatterns = cimd.DefaultRedirectURIPatterns()
	o.RefreshTokens = RefreshTokens{
		TokenLifetime:       DefaultRefreshTokenLifetime,
		MaxRotationLifetime: DefaultRefreshMaxRotationLifetime,
		MaxTokensPerUser:    DefaultRefreshMaxTokensPerUser,
	}
	if g, ok := raw["gatehouse"].(map[string]any); ok {
		if m, ok := d.mapOf(g["oauth"], "gatehouse.oauth"); ok {
			d.unknownKeys(m, "gatehouse.oauth", oauthKeys)
			if b, ok := d.boolean(m["allowPlainPkce"], "gatehouse.oauth.allowPlainPkce"); ok {
				o.AllowPlainPKCE = b
			}
		}
	}
	auth, ok := raw["auth"].(map[string]any) // a non-map auth is reported by decodeAuth
	if !ok {
		return
	}

	// The alias counts only when the stable key is absent altogether
	// (Backstage's config.has). The ignored block is still checked, so a
	// typo there is not silent.
	stable, alias := auth["clientIdMetadataDocuments"], auth["experimentalClientIdMetadataDocuments"]
	_, stablePresent := auth["clientIdMetadataDocuments"]
	stableCIMD, stableOK := d.cimd(stable, cimdPath)
	aliasCIMD, aliasOK := d.cimd(alias, cimdAliasPath)
	switch {
	case stablePresent && stable == nil && alias != nil:
		// Backstage's has() counts an explicit null as present, hiding
		// the alias, and then fails reading under it; say so rather
		// than guess which block was meant.
		o.CIMDSource = cimdPath
		d.add(cimdPath, "is null while auth.experimentalClientIdMetadataDocuments is set; Backstage would ignore the alias and fail on the null: remove the key or give it a map")
	case stable != nil:
		o.CIMDSource = cimdPath
		if stableOK {
			o.CIMD = stableCIMD
		}
	case alias != nil:
		o.CIMDSource = cimdAliasPath
		if aliasOK {
			o.CIMD = aliasCIMD
		}
	}

	if m, ok := d.mapOf(auth["experimentalDynamicClientRegistration"], dcrPath); ok {
		d.unknownKeys(m, dcrPath, dcrKeys)
		if b, ok := d.boolean(m["enabled"], dcrPath+".enabled"); ok {
			o.DCR.Enabled = b
		}
		if l, ok := d.patterns(m["allowedRedirectUriPatterns"], dcrPath+".allowedRedirectUriPatterns"); ok {
			o.DCR.AllowedRedirectURIPatterns = l
		}
	}

	if m, ok := d.mapOf(auth["experimentalRefreshToken"], refreshPath); ok {
		d.refreshTokens(m, &o.RefreshTokens)
	}
}

// cimd reads one CIMD block (stable or alias) at path; ok is false when
// the block is absent or not a map.
func (d *decoder) cimd(v any, path string) (ClientIDMetadataDocuments, bool) {
	c := ClientIDMetadataDocuments{AllowedRedirectURIPatterns: cimd.DefaultRedirectURIPatterns()}
	m, ok := d.mapOf(v, path)
	if !ok {
		return c, false
	}
	d.unknownKeys(m, path, cimdKeys)
	if b, ok := d.boolean(m["enabled"], path+".enabled"); ok {
		c.Enabled = b
	}
	if l, ok := d.patterns(m["allowedClientIdPatterns"], path+".allowedClientIdPatterns"); ok {
		c.ConfiguredClientIDPatterns = l
	}
	if l, ok := d.patterns(m["allowedRedirectUriPatterns"], path+".allowedRedirectUriPatterns"); ok {
		c.AllowedRedirectURIPatterns = l
	}
	return c, true
}

// patterns reads a list of URL patterns; ok is false when absent or when
// any entry is wrong (each is reported at its index). Backstage reads
// these with getOptionalStringArray, so a lone string is a type error.
func (d *decoder) patterns(v any, path string) ([]string, bool) {
	l, ok := d.listOf(v, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	good := true
	for i, e := range l {
		p := indexPath(path, i)
		s, isStr := e.(string)
		if !isStr {
			d.typeErr(p, "a string", e)
			good = false
			continue
		}
		if err := ValidateURLPattern(s); err != nil {
			d.add(p, err.Error())
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

func (d *decoder) refreshTokens(m map[string]any, r *RefreshTokens) {
	d.unknownKeys(m, refreshPath, refreshKeys)
	if b, ok := d.boolean(m["enabled"], refreshPath+".enabled"); ok {
		r.Enabled = b
	}
	if b, ok := d.boolean(m["dangerouslyDisableCatalogPresenceCheck"], refreshPath+".dangerouslyDisableCatalogPresenceCheck"); ok {
		r.DangerouslyDisableCatalogPresenceCheck = b
	}
	// Backstage keeps floor(ms/1000) seconds and requires a positive
	// result, so "500ms" is not a positive lifetime.
	lifetime := func(key string, into *time.Duration) bool {
		p := refreshPath + "." + key
		v, present := m[key]
		if !present || v == nil {
			return true
		}
		dur, ok := d.duration(v, p)
		if !ok {
			return false
		}
		dur = dur.Truncate(time.Second)
		if dur <= 0 {
			d.add(p, "must be a positive duration (at least one second)")
			return false
		}
		*into = dur
		return true
	}
	okIdle := lifetime("tokenLifetime", &r.TokenLifetime)
	okMax := lifetime("maxRotationLifetime", &r.MaxRotationLifetime)
	if okIdle && okMax && r.MaxRotationLifetime <= r.TokenLifetime {
		d.add(refreshPath+".maxRotationLifetime", fmt.Sprintf("must be greater than tokenLifetime (%s is not greater than %s)", r.MaxRotationLifetime, r.TokenLifetime))
	}
	if v, present := m["maxTokensPerUser"]; present && v != nil {
		p := refreshPath + ".maxTokensPerUser"
		if f, ok := d.number(v, p); ok {
			if f <= 0 || f != math.Trunc(f) || f > math.MaxInt32 {
				d.add(p, "must be a positive whole number, got "+describe(v, false))
			} else {
				r.MaxTokensPerUser = int(f)
			}
		}
	}
}

var (
	patternSchemeRe = regexp.MustCompile(`(?i)^[a-z][a-z0-9+.-]*:`)
	// wildcardPortRe is the first ":*" that is followed by "/" or the end
	// (only looked for when the pattern contains "://").
	wildcardPortRe = regexp.MustCompile(`:\*(/|$)`)
)

// specialSchemes are the WHATWG "special" schemes, whose URLs need a host
// (file excepted).
var specialSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true, "file": true}

// ValidateURLPattern checks an allowlist pattern with the compiler that
// matches it (cimd.CompilePattern): Backstage only finds a bad pattern when
// a request uses it (and then every request fails); Gatehouse reports it at
// start-up, at its key path.
func ValidateURLPattern(p string) error {
	_, err := cimd.CompilePattern(p)
	return err
}
