// Package gateway turns a loaded config into a running Gatehouse: it opens
// the stores, the user catalog, the WebAssembly modules and each
// configured provider with its transforms and resolver chain, hands them to
// the server, and serves it with the operations listener beside it.
//
// It is the only place besides cmd/ that knows both the config package and
// the runtime packages: server, providers, resolvers, identity and the
// catalogs take typed options and never see app-config.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/keypath"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/server/oauth"
)

// Gateway is everything a running Gatehouse is made of, assembled from a
// Config by Build. Building contacts no IdP, so `gatehouse check` builds
// one too.
type Gateway struct {
	cfg     *config.Config
	catalog catalog.Catalog
	tokens  *identity.Issuer
	server  *server.Server
	// oauth is the authorization server the server mounts, and how often
	// Serve sweeps its expired rows (oauth.go).
	oauth      *oauth.Server
	oauthSweep time.Duration
	// pluginKeys sign Gatehouse's plugin tokens to other Backstage plugins
	// (catalog.go).
	pluginKeys *identity.PluginKeys
	// envs are the opened providers, for `resolve` and start-up discovery.
	envs map[string]map[string]*server.Environment
	// defaultTransforms are each provider id's default profile transform.
	defaultTransforms map[string]string
	// ops holds the metrics registry, readiness checks and closers (ops.go).
	ops *opsState
	// modules are the WebAssembly resolvers and transforms (modules.go).
	modules *wasm.Set
}

// Options are what Build takes besides the config; every field is
// optional.
type Options struct {
	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keys and UserInfo are the identity stores; nil means the database's
	// (with DB set) or memory stores.
	Keys     identity.KeyStore
	UserInfo identity.UserInfoStore
	// SessionEnds records ended sessions; nil means the database's (with
	// DB set), else this process's memory.
	SessionEnds identity.SessionEndStore
	// DB, when set, is the opened database (OpenDatabase): the key store
	// (for auth.keyStore.provider database) and user info store, checked by
	// /readyz and closed on shutdown.
	DB *sqlstore.DB
	// HTTPClient, when set, makes every IdP call (tests and benchmarks).
	HTTPClient *http.Client
	// Registry, when set, receives the metrics (tests use a fresh one);
	// nil means a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Listener and MetricsListener, when set, are served instead of
	// listening on backend.listen and gatehouse.metrics.listen (tests).
	Listener, MetricsListener net.Listener
	// CIMDFetcher, when set, fetches CIMD client documents instead of a
	// cimd.Fetcher on the public internet (tests: one that trusts a test
	// CA and reaches loopback).
	CIMDFetcher oauth.ClientFetcher
	// OAuthSweepInterval is how often Serve deletes expired OAuth rows; 0
	// means OAuthSweepInterval (tests set it short).
	OAuthSweepInterval time.Duration
}

// AuthBaseURL is where the auth routes are reachable from the outside:
// backend.baseUrl + "/api/auth".
func AuthBaseURL(cfg *config.Config) string {
	return strings.TrimSuffix(cfg.Backend.BaseURL, "/") + "/api/auth"
}

// problemList collects build problems, each naming its config key.
type problemList struct{ config.Problems }

// add records err at path; an error that already carries key paths
// (keypath.Problems, from config, resolvers or modules) keeps its own.
func (pl *problemList) add(path string, err error) {
	var ps keypath.Problems
	if errors.As(err, &ps) {
		pl.Problems = append(pl.Problems, ps...)
		return
	}
	pl.Problems = append(pl.Problems, config.Problem{Path: path, Message: err.Error()})
}

// Build assembles a Gateway. Every problem found is returned at once as
// config.Problems, each naming its config key, so that `check` can print
// them all; nothing it opened stays open on error.
func Build(cfg *config.Config, o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ops, err := newOps(&o)
	if err != nil {
		return nil, err
	}
	var problems problemList
	cat, pluginKeys, catPath, err := openCatalog(cfg, o, ops.registry)
	if err != nil {
		problems.add(catPath, err)
	}
	staticKeys, err := useStores(cfg, &o)
	if err != nil {
		problems.add("auth.keyStore", err)
	}
	tokens, err := openIssuer(cfg, o, ops, staticKeys)
	if err != nil {
		problems.add("auth", err)
	}
	modules, err := openModules(cfg, o, ops)
	if err != nil {
		problems.add("gatehouse.modules", err)
	}
	envs, defaults := openProviders(cfg, o, ops, modules, resolvers.Deps{Catalog: cat}, &problems)
	if len(problems.Problems) > 0 {
		ops.closeAll(context.Background(), o.Logger)
		ps := problems.Problems
		slices.SortStableFunc(ps, func(a, b config.Problem) int { return strings.Compare(a.Path, b.Path) })
		return nil, ps
	}
	gw := &Gateway{cfg: cfg, catalog: cat, tokens: tokens, envs: envs, defaultTransforms: defaults,
		ops: ops, modules: modules, pluginKeys: pluginKeys, oauthSweep: o.OAuthSweepInterval}
	if gw.oauthSweep <= 0 {
		gw.oauthSweep = OAuthSweepInterval
	}
	if gw.oauth, err = gw.newOAuthServer(o); err != nil {
		ops.closeAll(context.Background(), o.Logger)
		return nil, err
	}
	if gw.server, err = gw.newServer(o); err != nil {
		ops.closeAll(context.Background(), o.Logger)
		return nil, err
	}
	if err := ops.addGatewayChecks(gw); err != nil {
		ops.closeAll(context.Background(), o.Logger)
		return nil, err
	}
	registerStores(ops, o.DB)
	return gw, nil
}

// newServer makes the /api/auth server of what Build opened.
func (gw *Gateway) newServer(o Options) (*server.Server, error) {
	return server.New(server.Options{
		AppBaseURL:          gw.cfg.App.BaseURL,
		AuthBaseURL:         AuthBaseURL(gw.cfg),
		ExtraAllowedOrigins: gw.cfg.Auth.ExperimentalExtraAllowedOrigins,
		SessionSecret:       gw.cfg.Auth.SessionSecret,
		Providers:           gw.envs,
		Tokens:              gw.tokens,
		Edge:                edgeOptions(gw.cfg),
		Logger:              o.Logger,
		Metrics:             gw.ops.metrics,
		PluginKeys:          gw.pluginKeys,
		RefreshGrace:        refreshGraceStore(o.DB),
		RefreshGracePeriod:  refreshGracePeriod(gw.cfg),
		SessionEnds:         o.SessionEnds,
		OAuth:               gw.oauth,
		Now:                 o.Now,
	})
}

// openIssuer opens the issuer of Backstage user tokens on the stores
// useStores picked, memory ones where it picked none.
func openIssuer(cfg *config.Config, o Options, ops *opsState, staticKeys []identity.StaticKey) (*identity.Issuer, error) {
	if o.Keys == nil && len(staticKeys) == 0 {
		o.Keys = identity.NewMemoryKeyStore()
	}
	if o.UserInfo == nil {
		o.UserInfo = identity.NewMemoryUserInfoStore()
	}
	return identity.NewIssuer(identity.Options{
		Issuer:             AuthBaseURL(cfg),
		Expiration:         cfg.Auth.BackstageTokenExpiration,
		OmitOwnershipClaim: cfg.Auth.OmitIdentityTokenOwnershipClaim,
		Keys:               o.Keys,
		UserInfo:           o.UserInfo,
		Now:                o.Now,
		Logger:             o.Logger,
		OnRotate:           func(string) { ops.metrics.KeyRotated() },
		StaticKeys:         staticKeys,
	})
}

// Config is the config the gateway was built from.
func (gw *Gateway) Config() *config.Config { return gw.cfg }

// Catalog is the user directory resolvers query.
func (gw *Gateway) Catalog() catalog.Catalog { return gw.catalog }

// Tokens issues and verifies Backstage user tokens.
func (gw *Gateway) Tokens() *identity.Issuer { return gw.tokens }

// PluginKeys sign the service tokens Gatehouse sends other Backstage plugins.
func (gw *Gateway) PluginKeys() *identity.PluginKeys { return gw.pluginKeys }

// Modules are the loaded WebAssembly resolvers and transforms (never nil).
func (gw *Gateway) Modules() *wasm.Set { return gw.modules }

// Env is the opened auth.providers.<provider>.<env>, or false when it is
// not configured.
func (gw *Gateway) Env(provider, env string) (*server.Environment, bool) {
	pe, ok := gw.envs[provider][env]
	return pe, ok
}

// DefaultTransform is the profile transform provider runs when its
// signIn.profileTransforms is empty.
func (gw *Gateway) DefaultTransform(provider string) string { return gw.defaultTransforms[provider] }

// Registry is the Prometheus registry /metrics serves.
func (gw *Gateway) Registry() *prometheus.Registry { return gw.ops.registry }

// OnClose adds f to what Shutdown closes, after the server has drained;
// closers run newest first.
func (gw *Gateway) OnClose(name string, f func(context.Context) error) { gw.ops.onClose(name, f) }

// Stopping makes /readyz answer 503 with reason, as Shutdown does first.
func (gw *Gateway) Stopping(reason string) { gw.ops.ready.Stopping(reason) }

// Close runs every closer (modules, database) without serving; for a
// gateway that was built but never served (`resolve`, tests).
func (gw *Gateway) Close(ctx context.Context) { gw.ops.closeAll(ctx, slog.New(slog.DiscardHandler)) }
