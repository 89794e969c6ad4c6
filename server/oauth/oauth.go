// Package oauth is the authorization-server half of Backstage's auth
// backend (auth-backend 0.30.1, spec backstage-oidc-provider.md): the
// routes MCP clients and `backstage-cli auth login` call under /api/auth —
// the discovery documents, the CLI's client metadata document,
// /v1/authorize, the consent session routes the Backstage frontend calls,
// /v1/token (authorization_code and refresh_token), /v1/revoke and
// /v1/register.
//
// It is wire-compatible with what real clients send and read, and stricter
// where Backstage is weak (spec §6; README "MCP clients and the Backstage
// CLI"): PKCE S256 for every client, codes and refresh tokens bound to
// their client, single-use codes whose replay revokes what they issued,
// refresh-token reuse detection, revocation that checks the token's secret
// and owner, no internal text in error_description.
//
// The package owns only the wire protocol. What it keeps lives behind
// identity.OAuthStore, tokens come from a Tokens (identity.Issuer), CIMD
// documents from a ClientFetcher (clients/cimd) and the catalog presence
// check from a UserDirectory; the gateway wires them. The parent server
// package mounts Routes under /api/auth and turns an error a handler
// returns into Backstage's envelope; OAuth-style errors are written here.
package oauth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
)

// Lifetimes Backstage uses (spec §2.5 step 6, §4.2); Gatehouse keeps them.
const (
	// AuthSessionLifetime is how long a consent session waits for a decision.
	AuthSessionLifetime = time.Hour
	// CodeLifetime is how long an authorization code may be redeemed.
	CodeLifetime = 10 * time.Minute
)

// Config is what the authorization server serves, decided at start-up
// (config.OAuthServer, turned into this by the gateway).
type Config struct {
	// AuthBaseURL is <A>, the auth plugin's external base URL
	// (backend.baseUrl + "/api/auth"): the issuer, the base of every
	// advertised endpoint and of the CLI's client_id.
	AuthBaseURL string
	// AppBaseURL is app.baseUrl: the consent page is
	// <AppBaseURL>/oauth2/authorize/<session id>.
	AppBaseURL string
	// DCR is auth.experimentalDynamicClientRegistration.
	DCR DCRConfig
	// CIMD is auth.clientIdMetadataDocuments (or its experimental alias).
	CIMD CIMDConfig
	// Refresh is auth.experimentalRefreshToken.
	Refresh RefreshConfig
	// AllowPlainPKCE is gatehouse.oauth.allowPlainPkce: accept (and
	// advertise) code_challenge_method=plain, as Backstage does.
	AllowPlainPKCE bool
}

// DCRConfig is dynamic client registration.
type DCRConfig struct {
	Enabled bool
	// RedirectURIPatterns is the allowlist every registered redirect_uri
	// must match (cimd.CompilePattern syntax).
	RedirectURIPatterns []string
}

// CIMDConfig is Client ID Metadata Documents.
type CIMDConfig struct {
	Enabled bool
	// ClientIDPatterns is the effective client_id allowlist, the CLI's
	// client_id included (config.ClientIDMetadataDocuments.AllowedClientIDPatterns).
	ClientIDPatterns []string
	// RedirectURIPatterns is the allowlist a CIMD client's redirect_uri
	// must match at /v1/authorize, besides its document.
	RedirectURIPatterns []string
}

// RefreshConfig is refresh tokens (offline access).
type RefreshConfig struct {
	Enabled bool
	// IdleLifetime is tokenLifetime; AbsoluteLifetime maxRotationLifetime.
	IdleLifetime, AbsoluteLifetime time.Duration
	// MaxPerUser is maxTokensPerUser.
	MaxPerUser int
	// CheckCatalog is !dangerouslyDisableCatalogPresenceCheck: every
	// refresh asks Options.Users whether the user still exists.
	CheckCatalog bool
}

// Enabled reports whether the authorization routes are mounted (DCR or
// CIMD, spec §1.2).
func (c Config) Enabled() bool { return c.DCR.Enabled || c.CIMD.Enabled }

// CLIClientID is the Backstage CLI's client_id: the URL of the client
// metadata document this server serves for it.
func (c Config) CLIClientID() string {
	return strings.TrimRight(c.AuthBaseURL, "/") + CLIClientDocumentPath
}

// Tokens issues and verifies Backstage user tokens (identity.Issuer).
type Tokens interface {
	// IssueAccessToken signs a Backstage user token for sub with the
	// claims iss, sub, aud, iat, exp, uip and no ent, and records no user
	// info (spec §4.1). audience nil means "backstage"; otherwise the aud
	// claim is that list (RFC 8707: ["backstage", resource]).
	IssueAccessToken(ctx context.Context, sub string, audience []string) (*identity.IssuedToken, error)
	// VerifyUserToken verifies a full or limited user token.
	VerifyUserToken(ctx context.Context, token string) (*identity.VerifiedToken, error)
	// Expiration is the lifetime of issued tokens: the real expires_in.
	Expiration() time.Duration
}

// UserDirectory answers the refresh grant's catalog presence check.
type UserDirectory interface {
	// UserExists reports whether the catalog still holds the User entity
	// ref; an error means the catalog could not tell.
	UserExists(ctx context.Context, entityRef string) (bool, error)
}

// ClientFetcher fetches and validates CIMD documents (*cimd.Fetcher).
type ClientFetcher interface {
	Fetch(ctx context.Context, clientID string) (*cimd.Client, error)
}

// Options are what New takes.
type Options struct {
	Config Config
	// Store keeps clients, consent sessions, codes and refresh sessions;
	// required when Config.Enabled().
	Store identity.OAuthStore
	// Tokens is required when Config.Enabled().
	Tokens Tokens
	// Users is asked on every refresh when Config.Refresh.CheckCatalog.
	Users UserDirectory
	// Fetcher fetches CIMD documents; nil means a cimd.Fetcher with its
	// defaults. The CLI's own document is never fetched: it is served
	// from memory (see cliClient).
	Fetcher ClientFetcher
	// GraceSecret and GracePeriod let a refresh token that was just
	// rotated be presented again for GracePeriod (a client's retry, two
	// requests racing; 0 means DefaultRefreshGracePeriod) and get the
	// same answer instead of revoking the family: the rotation stores
	// the answer in the refresh session's row (Store), sealed under a
	// key derived from GraceSecret (auth.session.secret).
	GraceSecret string
	GracePeriod time.Duration
	// RegisterRate is how many registrations one client address may make
	// per minute at /v1/register; 0 means DefaultRegisterRate.
	RegisterRate int
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server serves the authorization server's routes. It is safe for
// concurrent use.
type Server struct {
	cfg   Config
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	authz authzState     // authorize.go, consent.go, clients.go
	tok   tokenState     // token.go, refresh.go, revoke.go, register.go
	disc  discoveryState // discovery.go
}

// New checks o and prepares the routes. Misconfiguration (an invalid
// allowlist pattern, a missing store) is reported here, never on a request.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Config.AuthBaseURL = strings.TrimRight(o.Config.AuthBaseURL, "/")
	if o.Config.AuthBaseURL == "" {
		return nil, errors.New("oauth: the auth base URL is required")
	}
	if o.Config.Enabled() && (o.Store == nil || o.Tokens == nil) {
		return nil, errors.New("oauth: a store and a token issuer are required when DCR or CIMD is enabled")
	}
	s := &Server{cfg: o.Config, opts: o, log: o.Logger, now: o.Now}
	if err := s.disc.init(s); err != nil {
		return nil, err
	}
	if err := s.authz.init(s); err != nil {
		return nil, err
	}
	if s.opts.Fetcher == nil {
		s.opts.Fetcher = defaultFetcher(s.authz.clientIDs, o.Now)
	}
	if err := s.tok.init(s); err != nil {
		return nil, err
	}
	return s, nil
}

// defaultFetcher is Options.Fetcher's default, one for every route so they
// share its cache. Every document goes through the connect-time address
// check, except that a client_id the operator allowlisted as an exact
// entry may reach private addresses (never link-local or cloud metadata
// ones: cimd's trusted guard), as Backstage skips its check for exact
// entries (spec §3.3): an operator naming one internal client document on
// purpose keeps working. The CLI's own document is never fetched.
func defaultFetcher(clientIDs *cimd.Allowlist, now func() time.Time) *cimd.Fetcher {
	return cimd.NewFetcher(cimd.FetcherOptions{
		Trusted: func(clientID string) bool {
			p, ok := clientIDs.MatchString(clientID)
			return ok && p.Exact()
		},
		Now: now,
	})
}

// Route is one route of the authorization server.
type Route struct {
	Method string
	// Path is relative to the /api/auth mount ("/v1/token"), or, when Root
	// is set, absolute from the server's root.
	Path    string
	Root    bool
	Handler echo.HandlerFunc
}

// Routes lists the routes to mount, as spec §1.2 decides from the
// configuration. A handler writes OAuth-style errors itself and returns an
// error only for Backstage's envelope (which the caller writes).
func (s *Server) Routes() []Route {
	rs := s.disc.routes(s)
	if s.cfg.Enabled() {
		rs = append(rs,
			Route{Method: "GET", Path: "/v1/authorize", Handler: s.authorize},
			// Express serves HEAD through GET handlers (spec §2.0.5).
			Route{Method: "HEAD", Path: "/v1/authorize", Handler: s.authorize},
			Route{Method: "GET", Path: "/v1/sessions/:sessionId", Handler: s.getSession},
			Route{Method: "POST", Path: "/v1/sessions/:sessionId/approve", Handler: s.approve},
			Route{Method: "POST", Path: "/v1/sessions/:sessionId/reject", Handler: s.reject},
			Route{Method: "POST", Path: "/v1/token", Handler: s.token},
			Route{Method: "POST", Path: "/v1/revoke", Handler: s.revoke},
		)
	}
	if s.cfg.DCR.Enabled {
		rs = append(rs, Route{Method: "POST", Path: "/v1/register", Handler: s.register})
	}
	return rs
}

// DeleteExpired deletes expired clients, consent sessions, codes and
// refresh sessions (spec §6.16, §6.23); the gateway calls it periodically.
func (s *Server) DeleteExpired(ctx context.Context) (int, error) {
	if s.opts.Store == nil {
		return 0, nil
	}
	n, err := s.opts.Store.DeleteExpired(ctx, s.now())
	if n > 0 {
		s.log.Info("deleted expired OAuth rows", "count", n)
	}
	return n, err
}
