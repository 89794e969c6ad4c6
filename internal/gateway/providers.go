package gateway

import (
	"fmt"
	"slices"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/builtin"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
	"github.com/gatehouse-auth/gatehouse/server"
)

// openProviders opens every configured provider environment with its
// profile transforms and resolver chain. A provider that cannot open still
// has its transforms and resolvers checked, so that `check` reports them
// in the same run; only environments without problems are returned.
func openProviders(cfg *config.Config, o Options, ops *opsState, modules *wasm.Set, deps resolvers.Deps, problems *problemList) (map[string]map[string]*server.Environment, map[string]string) {
	op := envOpener{
		cfg: cfg, o: o, ops: ops, deps: deps, problems: problems,
		resolverFactories:  modules.Resolvers(resolvers.BuiltinResolvers()),
		transformFactories: modules.Transforms(resolvers.BuiltinTransforms()),
	}
	envs := map[string]map[string]*server.Environment{}
	defaults := map[string]string{}
	ids := make([]string, 0, len(cfg.Auth.Providers))
	for id := range cfg.Auth.Providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		kind, ok := builtin.Registry[id]
		if !ok {
			// config refuses unknown ids; a Config built by hand may not.
			problems.add("auth.providers."+id, fmt.Errorf("provider %q is not supported", id))
			continue
		}
		defaults[id] = kind.DefaultTransform
		envs[id] = map[string]*server.Environment{}
		for env, settings := range cfg.Auth.Providers[id] {
			if opened, ok := op.open(id, kind, settings); ok {
				envs[id][env] = opened
			}
		}
	}
	return envs, defaults
}

// envOpener opens provider environments, recording their problems.
type envOpener struct {
	cfg                *config.Config
	o                  Options
	ops                *opsState
	deps               resolvers.Deps
	problems           *problemList
	resolverFactories  map[string]resolvers.ResolverFactory
	transformFactories map[string]resolvers.TransformFactory
}

// open opens one environment: its provider, transforms and resolver
// chain. Each part is checked even when another failed, so that `check`
// reports them all in one run; ok is false when any failed.
func (op envOpener) open(id string, kind providers.Kind, settings *config.ProviderEnv) (*server.Environment, bool) {
	cb := settings.CallbackURL
	if cb == "" {
		cb = providers.CallbackURL(AuthBaseURL(op.cfg), id)
	}
	ok := true
	p, err := settings.Settings.Open(providers.OpenOptions{
		ProviderID:  id,
		CallbackURL: cb,
		HTTPClient:  op.ops.idpClient(op.o, id, settings.Settings),
		Logger:      op.o.Logger,
		Now:         op.o.Now,
	})
	if err != nil {
		op.problems.add(settings.Path, err)
		ok = false
	}
	tr, err := resolvers.NewTransforms(resolverSteps(settings.SignIn.ProfileTransforms), kind.DefaultTransform, op.transformFactories)
	if err != nil {
		op.problems.add(settings.Path+".signIn.profileTransforms", err)
		ok = false
	}
	opened := &server.Environment{
		Provider:         p,
		Transforms:       tr,
		CallbackURL:      settings.CallbackURL,
		SessionDuration:  settings.SessionDuration,
		AdditionalScopes: settings.AdditionalScopes,
		SignOut: server.SignOut{
			KeepIdPSession:        settings.SignOut.EndSession != nil && !*settings.SignOut.EndSession,
			PostLogoutRedirectURL: settings.SignOut.PostLogoutRedirectURL,
		},
	}
	if len(settings.SignIn.Resolvers) > 0 {
		chain, err := resolvers.NewChain(resolverSteps(settings.SignIn.Resolvers), op.resolverFactories, op.deps)
		if err != nil {
			op.problems.add(settings.Path+".signIn.resolvers", err)
			return nil, false
		}
		op.ops.observeChain(chain)
		opened.Resolver = chain
	}
	return opened, ok
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
