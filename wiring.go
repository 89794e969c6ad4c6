package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/catalog"
	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
	"github.com/gatehouse-auth/gatehouse/providers/vmwarecloud"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
	"github.com/gatehouse-auth/gatehouse/server"
)

// gateway is everything a running Gatehouse is made of, assembled from a
// Config. Building it contacts no IdP, so `check` builds one too.
type gateway struct {
	cfg     *config.Config
	catalog catalog.Catalog
	tokens  *identity.Issuer
	server  *server.Server
	// pluginKeys sign Gatehouse's plugin tokens to other Backstage plugins
	// (catalogwiring.go).
	pluginKeys *identity.PluginKeys
	// envs are the opened providers, for `try` and for start-up discovery.
	envs map[string]map[string]*server.ProviderEnv
	// ops holds the metrics registry, readiness checks and closers (ops.go).
	ops *opsState
	// modules are the WebAssembly resolvers and transforms (modules.go).
	modules *wasm.Set
}

type buildOptions struct {
	logger *slog.Logger
	now    func() time.Time
	// keys and userInfo default to memory stores.
	keys     identity.KeyStore
	userInfo identity.UserInfoStore
	// db, when set, is the opened database (stores.go): the key store (for
	// auth.keyStore.provider database) and user info store, checked by
	// /readyz and closed on shutdown.
	db *sqlstore.DB
	// httpClient, when set, makes every IdP call (benchmarks time it).
	httpClient *http.Client
	// registry, when set, receives the metrics (tests use a fresh one);
	// nil means a new registry with the Go and process collectors.
	registry *prometheus.Registry
}

// providerFactory opens one provider environment.
type providerFactory struct {
	open             func(pe *config.ProviderEnv, callbackURL string, o buildOptions) (providers.Provider, error)
	defaultTransform string
}

// providerFactories is every provider id Gatehouse serves.
var providerFactories = map[string]providerFactory{
	"oidc": {
		open: func(pe *config.ProviderEnv, cb string, o buildOptions) (providers.Provider, error) {
			return oidc.New(oidcConfig("oidc", pe, cb, o))
		},
		defaultTransform: "oidc",
	},
	vmwarecloud.ID: {
		open: func(pe *config.ProviderEnv, cb string, o buildOptions) (providers.Provider, error) {
			v := pe.VMwareCloud
			return vmwarecloud.New(vmwarecloud.Config{
				ClientID:        v.ClientID,
				OrganizationID:  v.OrganizationID,
				ConsoleEndpoint: v.ConsoleEndpoint,
				CallbackURL:     cb,
				Timeout:         v.Timeout,
				VerifySignature: v.VerifyIDTokenSignature,
				JWKSURL:         v.JWKSURL,
				HTTPClient:      o.httpClient,
				Logger:          o.logger,
				Now:             o.now,
			})
		},
		defaultTransform: vmwarecloud.DefaultTransform,
	},
	vcfsso.ID: {
		open: func(pe *config.ProviderEnv, cb string, o buildOptions) (providers.Provider, error) {
			return vcfsso.New(oidcConfig(vcfsso.ID, pe, cb, o))
		},
		defaultTransform: vcfsso.DefaultTransform,
	},
}

func oidcConfig(id string, pe *config.ProviderEnv, callbackURL string, o buildOptions) oidc.Config {
	c := pe.OIDC
	return oidc.Config{
		ProviderID:              id,
		MetadataURL:             c.MetadataURL,
		ClientID:                c.ClientID,
		ClientSecret:            c.ClientSecret,
		CallbackURL:             callbackURL,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		TokenSignedResponseAlg:  c.TokenSignedResponseAlg,
		Prompt:                  c.Prompt,
		StartURLSearchParams:    c.StartURLSearchParams,
		Timeout:                 c.Timeout,
		HTTPClient:              o.httpClient,
		Logger:                  o.logger,
		Now:                     o.now,
	}
}

// authBaseURL is where the auth routes are reachable from the outside.
func authBaseURL(cfg *config.Config) string {
	return strings.TrimSuffix(cfg.Backend.BaseURL, "/") + "/api/auth"
}

// build assembles a gateway. Every problem found is returned at once, each
// naming its config key, so `check` can print them all.
func build(cfg *config.Config, o buildOptions) (*gateway, error) {
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	ops, err := newOps(&o)
	if err != nil {
		return nil, err
	}
	var problems config.Problems
	add := func(path string, err error) {
		var ps config.Problems
		if errors.As(err, &ps) {
			problems = append(problems, ps...)
			return
		}
		var sps resolvers.StepProblems
		if errors.As(err, &sps) {
			for _, sp := range sps {
				problems = append(problems, config.Problem{Path: sp.Path, Message: sp.Message})
			}
			return
		}
		problems = append(problems, config.Problem{Path: path, Message: err.Error()})
	}

	cat, pluginKeys, catPath, err := openCatalog(cfg, o, ops.registry)
	if err != nil {
		add(catPath, err)
	}

	staticKeys, err := useStores(cfg, &o)
	if err != nil {
		add("auth.keyStore", err)
	}
	if o.keys == nil && len(staticKeys) == 0 {
		o.keys = identity.NewMemoryKeyStore()
	}
	if o.userInfo == nil {
		o.userInfo = identity.NewMemoryUserInfoStore()
	}
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:             authBaseURL(cfg),
		Expiration:         cfg.Auth.BackstageTokenExpiration,
		OmitOwnershipClaim: cfg.Auth.OmitIdentityTokenOwnershipClaim,
		Keys:               o.keys,
		UserInfo:           o.userInfo,
		Now:                o.now,
		Logger:             o.logger,
		OnRotate:           func(string) { ops.metrics.KeyRotated() },
		StaticKeys:         staticKeys,
	})
	if err != nil {
		add("auth", err)
	}

	deps := resolvers.Deps{Catalog: cat}
	modules, err := openModules(cfg, o, ops)
	if err != nil {
		add("gatehouse.modules", err)
	}
	resolverFactories := modules.Resolvers(resolvers.BuiltinResolvers())
	transformFactories := modules.Transforms(resolvers.BuiltinTransforms())
	envs := map[string]map[string]*server.ProviderEnv{}
	ids := make([]string, 0, len(cfg.Auth.Providers))
	for id := range cfg.Auth.Providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		f, ok := providerFactories[id]
		if !ok {
			add("auth.providers."+id, fmt.Errorf("provider %q is not supported", id))
			continue
		}
		envs[id] = map[string]*server.ProviderEnv{}
		for env, pe := range cfg.Auth.Providers[id] {
			cb := pe.CallbackURL
			if cb == "" {
				cb = authBaseURL(cfg) + "/" + id + "/handler/frame"
			}
			// A provider that cannot open still has its transforms and
			// resolvers checked, so that check reports them in the same run.
			p, openErr := f.open(pe, cb, ops.forProvider(o, id, pe))
			if openErr != nil {
				add(pe.Path, openErr)
			}
			tr, trErr := resolvers.NewTransforms(resolverSteps(pe.SignIn.ProfileTransforms), f.defaultTransform, transformFactories)
			if trErr != nil {
				add(pe.Path+".signIn.profileTransforms", trErr)
			}
			spe := &server.ProviderEnv{
				Provider:         p,
				Transforms:       tr,
				CallbackURL:      pe.CallbackURL,
				SessionDuration:  pe.SessionDuration,
				AdditionalScopes: pe.AdditionalScopes,
			}
			if len(pe.SignIn.Resolvers) > 0 {
				chain, err := resolvers.NewChain(resolverSteps(pe.SignIn.Resolvers), resolverFactories, deps)
				if err != nil {
					add(pe.Path+".signIn.resolvers", err)
					continue
				}
				ops.observeChain(chain)
				spe.Resolver = chain
			}
			if openErr != nil || trErr != nil {
				continue
			}
			envs[id][env] = spe
		}
	}
	if len(problems) > 0 {
		modules.Close(context.Background())
		slices.SortStableFunc(problems, func(a, b config.Problem) int { return strings.Compare(a.Path, b.Path) })
		return nil, problems
	}
	srv, err := server.New(server.Options{
		AppBaseURL:          cfg.App.BaseURL,
		AuthBaseURL:         authBaseURL(cfg),
		ExtraAllowedOrigins: cfg.Auth.ExperimentalExtraAllowedOrigins,
		SessionSecret:       cfg.Auth.SessionSecret,
		Providers:           envs,
		Tokens:              tokens,
		Edge:                edgeOptions(cfg),
		Logger:              o.logger,
		Metrics:             ops.metrics,
		PluginKeys:          pluginKeys,
		Now:                 o.now,
	})
	if err != nil {
		return nil, err
	}
	gw := &gateway{cfg: cfg, catalog: cat, tokens: tokens, server: srv, envs: envs, ops: ops, modules: modules, pluginKeys: pluginKeys}
	if err := ops.addGatewayChecks(gw); err != nil {
		return nil, err
	}
	registerStores(ops, o.db)
	return gw, nil
}

// resolverSteps hands configured signIn entries to the resolvers package in
// its own type, so that resolvers does not depend on config.
func resolverSteps(steps []config.Step) []resolvers.Step {
	if steps == nil {
		return nil
	}
	out := make([]resolvers.Step, len(steps))
	for i, s := range steps {
		out[i] = resolvers.Step{Name: s.Name, Options: s.Options, Path: s.Path}
	}
	return out
}
