package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/server/oauth"
)

// OAuthSweepInterval is how often Serve deletes expired clients, consent
// sessions, codes and refresh sessions (spec §6.16: Backstage never does).
// Expired rows are refused when read whatever their age, so the interval
// only bounds how long they occupy the store.
const OAuthSweepInterval = 10 * time.Minute

// dcrDeprecation is Backstage's start-up warning for DCR (spec §1.1),
// word for word, so that operators' log alerts carry over.
const dcrDeprecation = "DEPRECATION WARNING: The 'auth.experimentalDynamicClientRegistration' configuration is deprecated. Migrate to Client ID Metadata Documents (CIMD) using 'auth.clientIdMetadataDocuments'."

// oauthConfig is config.OAuthServer as server/oauth takes it, with the
// effective allowlists (the CLI's client_id always allowed).
func oauthConfig(cfg *config.Config) oauth.Config {
	o := cfg.Auth.OAuthServer
	base := AuthBaseURL(cfg)
	r := o.RefreshTokens
	return oauth.Config{
		AuthBaseURL: base,
		AppBaseURL:  cfg.App.BaseURL,
		DCR:         oauth.DCRConfig{Enabled: o.DCR.Enabled, RedirectURIPatterns: o.DCR.AllowedRedirectURIPatterns},
		CIMD: oauth.CIMDConfig{Enabled: o.CIMD.Enabled,
			ClientIDPatterns:    o.CIMD.AllowedClientIDPatterns(base),
			RedirectURIPatterns: o.CIMD.AllowedRedirectURIPatterns},
		Refresh: oauth.RefreshConfig{Enabled: r.Enabled, IdleLifetime: r.TokenLifetime, AbsoluteLifetime: r.MaxRotationLifetime,
			MaxPerUser: r.MaxTokensPerUser, CheckCatalog: !r.DangerouslyDisableCatalogPresenceCheck},
		AllowPlainPKCE: o.AllowPlainPKCE,
	}
}

// newOAuthServer builds the authorization server on what Build opened: the
// database's OAuth store when one is open (every replica shares it), else
// memory; the issuer's tokens; the catalog for the refresh grant's
// presence check.
//
// Backstage also warns, with SQLite and refresh tokens on, that rotation
// races are not prevented without row locks. That is not true here: a
// rotation is one conditional UPDATE (WHERE secret_hash = the presented
// one) in a transaction (identity/sqlstore/oauth.go), which SQLite
// serialises like any write, and codes are redeemed the same way; so no
// such warning is logged.
func (gw *Gateway) newOAuthServer(o Options) (*oauth.Server, error) {
	cfg := oauthConfig(gw.cfg)
	var store identity.OAuthStore = identity.NewMemoryOAuthStore()
	if o.DB != nil {
		store = o.DB
	}
	if cfg.DCR.Enabled {
		o.Logger.Warn(dcrDeprecation)
	}
	return oauth.New(oauth.Options{
		Config:      cfg,
		Store:       store,
		Tokens:      gw.tokens,
		Users:       catalogUsers{gw.catalog},
		Fetcher:     o.CIMDFetcher, // nil: oauth's default, with the SSRF guard
		GraceSecret: gw.cfg.Auth.SessionSecret,
		Logger:      o.Logger,
		Now:         o.Now,
	})
}

// catalogUsers is the refresh grant's catalog presence check.
type catalogUsers struct{ cat catalog.Catalog }

// UserExists reports whether the catalog holds the user: "User not found"
// is false; any other failure is an error (the grant then refuses the
// refresh but keeps the session).
func (u catalogUsers) UserExists(ctx context.Context, entityRef string) (bool, error) {
	_, err := u.cat.FindUser(ctx, catalog.Query{EntityRef: entityRef})
	switch {
	case err == nil:
		return true, nil
	case autherr.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// sweepOAuth deletes expired OAuth rows every interval until ctx ends.
func (gw *Gateway) sweepOAuth(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := gw.oauth.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
				logger.Error("deleting expired OAuth rows failed; will retry", "error", err)
			}
		}
	}
}

// OAuth is the authorization server for MCP clients and the CLI (its
// routes are mounted under /api/auth; off, only the discovery documents).
func (gw *Gateway) OAuth() *oauth.Server { return gw.oauth }
