package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/autherr"
	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// readClaims reads `gatehouse resolve --claims`: either
// {"userinfo": {...}, "idTokenClaims": {...}} (as `gatehouse try` takes)
// or a flat claims object, used as both userinfo and ID-token claims.
func readClaims(file string) (*providers.Result, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var flat map[string]any
	if err := json.Unmarshal(raw, &flat); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %v", file, err)
	}
	_, hasUI := flat["userinfo"]
	_, hasID := flat["idTokenClaims"]
	if (hasUI || hasID) && len(flat) <= 2 {
		var sp sampleProfile
		if err := json.Unmarshal(raw, &sp); err != nil {
			return nil, fmt.Errorf("%s: userinfo and idTokenClaims must be objects: %v", file, err)
		}
		return &providers.Result{UserInfo: sp.UserInfo, IDTokenClaims: sp.IDTokenClaims}, nil
	}
	return &providers.Result{UserInfo: flat, IDTokenClaims: flat}, nil
}

// runResolve runs one provider environment's profile transforms and
// sign-in resolvers on sample claims, without an IdP, and prints every
// step: each transform's output, each resolver's verdict and time, then
// the identity the configured chain gives.
func runResolve(ctx context.Context, gw *gateway, providerID, env, file string, stdout, stderr io.Writer) int {
	spe, ok := gw.envs[providerID][env]
	pe := gw.cfg.Auth.Providers[providerID][env]
	if !ok || pe == nil {
		fmt.Fprintf(stderr, "gatehouse resolve: auth.providers.%s.%s is not configured\n", providerID, env)
		return 2
	}
	if file == "" {
		fmt.Fprintln(stderr, "gatehouse resolve: --claims FILE is required")
		return 2
	}
	result, err := readClaims(file)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse resolve: --claims: %v\n", err)
		return 2
	}
	tfs := gw.modules.Transforms(resolvers.BuiltinTransforms())
	rfs := gw.modules.Resolvers(resolvers.BuiltinResolvers())
	deps := resolvers.Deps{Catalog: gw.catalog}
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	verdict := func(err error) string {
		return fmt.Sprintf("%s: %s", autherr.NameOf(err), err.Error())
	}

	steps := pe.SignIn.ProfileTransforms
	if len(steps) == 0 {
		steps = []config.Step{{Name: providerFactories[providerID].defaultTransform}}
	}
	fmt.Fprintf(stdout, "provider %s, environment %s\n\nprofile transforms:\n", providerID, env)
	var profile providers.Profile
	for i, s := range steps {
		t, err := tfs[s.Name](s.Options)
		if err != nil {
			fmt.Fprintf(stdout, "  %d. %-40s open failed: %v\n", i+1, s.Name, err)
			return 1
		}
		start := time.Now()
		p, err := t.Transform(ctx, resolvers.TransformInput{ProviderID: providerID, Result: result, Profile: profile})
		took := time.Since(start)
		if err != nil {
			fmt.Fprintf(stdout, "  %d. %-40s %-10s %s\n", i+1, s.Name, took.Round(time.Microsecond), verdict(err))
			fmt.Fprintln(stdout, "\nsign-in fails at the profile transform")
			return 1
		}
		profile = p
		fmt.Fprintf(stdout, "  %d. %-40s %-10s %s\n", i+1, s.Name, took.Round(time.Microsecond), show(p))
	}

	fmt.Fprintln(stdout, "\nsign-in resolvers:")
	if len(pe.SignIn.Resolvers) == 0 {
		fmt.Fprintln(stdout, "  (none configured: sign-in would return no backstageIdentity)")
		return 0
	}
	in := resolvers.SignInInput{ProviderID: providerID, Profile: profile, Result: result}
	for i, s := range pe.SignIn.Resolvers {
		r, err := rfs[s.Name](s.Options, deps)
		if err != nil {
			fmt.Fprintf(stdout, "  %d. %-40s open failed: %v\n", i+1, s.Name, err)
			return 1
		}
		start := time.Now()
		res, err := r.Resolve(ctx, in)
		took := time.Since(start).Round(time.Microsecond)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "  %d. %-40s %-10s ok %s ownership %s", i+1, s.Name, took, res.UserEntityRef, show(res.OwnershipEntityRefs))
			if len(res.ExtraClaims) > 0 {
				fmt.Fprintf(stdout, " claims %s", show(res.ExtraClaims))
			}
			fmt.Fprintln(stdout)
		case autherr.IsNotFound(err):
			fmt.Fprintf(stdout, "  %d. %-40s %-10s not found (%s), next\n", i+1, s.Name, took, err.Error())
		default:
			fmt.Fprintf(stdout, "  %d. %-40s %-10s %s\n", i+1, s.Name, took, verdict(err))
		}
		if err == nil || !autherr.IsNotFound(err) {
			break
		}
	}

	res, err := spe.Resolver.Resolve(ctx, in)
	if err != nil {
		fmt.Fprintf(stdout, "\nresult: sign-in fails: %s\n", verdict(err))
		return 1
	}
	fmt.Fprintf(stdout, "\nresult: %s (by %s)\n", res.UserEntityRef, res.Resolver)
	fmt.Fprintf(stdout, "  ownershipEntityRefs: %s\n", show(res.OwnershipEntityRefs))
	if len(res.ExtraClaims) > 0 {
		fmt.Fprintf(stdout, "  extra claims: %s\n", show(res.ExtraClaims))
	}
	return 0
}
