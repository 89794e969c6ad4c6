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
func openProviders(cfg *config.Config, o Options, ops *opsState, modules *wasm.Set, deps resolvers.Deps, problems *problemList) (map[string]map[string]*server.ProviderEnv, map[string]string) {
	resolverFactories := modules.Resolvers(resolvers.BuiltinResolvers())
	transformFactories := modules.Transforms(resolvers.BuiltinTransforms())
	envs := map[string]map[string]*server.ProviderEnv{}
	defaults := map[string]string{}
	ids := make([]string, 0, len(cfg.Auth.Providers))
	for id := range cfg.Auth.Providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		kind, ok := builtin.Registry[id]
		if !ok {
			problems.add("auth.providers."+id, fmt.Errorf("provider %q is not supported", id))
			continue
		}
		defaults[id] = kind.DefaultTransform
		envs[id] = map[string]*server.ProviderEnv{}
		for env, settings := range cfg.Auth.Providers[id] {
			cb := settings.CallbackURL
			if cb == "" {
				cb = providers.CallbackURL(AuthBaseURL(cfg), id)
			}
			p, openErr := settings.Settings.Open(providers.Env{
				ProviderID:  id,
				CallbackURL: cb,
				HTTPClient:  ops.idpClient(o, id, settings.Settings),
				Logger:      o.Logger,
				Now:         o.Now,
			})
			if openErr != nil {
				problems.add(settings.Path, openErr)
			}
			tr, trErr := resolvers.NewTransforms(resolverSteps(settings.SignIn.ProfileTransforms), kind.DefaultTransform, transformFactories)
			if trErr != nil {
				problems.add(settings.Path+".signIn.profileTransforms", trErr)
			}
			opened := &server.ProviderEnv{
				Provider:         p,
				Transforms:       tr,
				CallbackURL:      settings.CallbackURL,
				SessionDuration:  settings.SessionDuration,
				AdditionalScopes: settings.AdditionalScopes,
			}
			if len(settings.SignIn.Resolvers) > 0 {
				chain, err := resolvers.NewChain(resolverSteps(settings.SignIn.Resolvers), resolverFactories, deps)
				if err != nil {
					problems.add(settings.Path+".signIn.resolvers", err)
					continue
				}
				ops.observeChain(chain)
				opened.Resolver = chain
			}
			if openErr != nil || trErr != nil {
				continue
			}
			envs[id][env] = opened
		}
	}
	return envs, defaults
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
