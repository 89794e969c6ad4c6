package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse-auth/gatehouse/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// sampleProfile is the input of `gatehouse try`: what a provider would
// have learned about a user.
type sampleProfile struct {
	UserInfo      map[string]any `json:"userinfo"`
	IDTokenClaims map[string]any `json:"idTokenClaims"`
}

// runTry runs one provider environment's transforms and resolver chain on a
// sample profile, without any IdP, and prints what sign-in would give.
func runTry(ctx context.Context, gw *gateway, providerID, env, file string, stdout, stderr io.Writer) int {
	pe, ok := gw.envs[providerID][env]
	if !ok {
		fmt.Fprintf(stderr, "gatehouse try: auth.providers.%s.%s is not configured\n", providerID, env)
		return 2
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse try: --profile: %v\n", err)
		return 2
	}
	var sp sampleProfile
	if err := json.Unmarshal(raw, &sp); err != nil {
		fmt.Fprintf(stderr, "gatehouse try: %s: not a JSON object with userinfo/idTokenClaims: %v\n", file, err)
		return 2
	}
	result := &providers.Result{UserInfo: sp.UserInfo, IDTokenClaims: sp.IDTokenClaims}
	out := map[string]any{}
	profile, err := pe.Transforms.Apply(ctx, providerID, result)
	if err == nil {
		out["profile"] = profile
		if pe.Resolver == nil {
			out["note"] = "no signIn.resolvers configured: sign-in would return no backstageIdentity"
		} else {
			var res *resolvers.SignInResult
			res, err = pe.Resolver.Resolve(ctx, resolvers.SignInInput{ProviderID: providerID, Profile: profile, Result: result})
			if err == nil {
				out["resolver"] = res.Resolver
				out["userEntityRef"] = res.UserEntityRef
				out["ownershipEntityRefs"] = res.OwnershipEntityRefs
				if len(res.ExtraClaims) > 0 {
					out["extraClaims"] = res.ExtraClaims
				}
			}
		}
	}
	code := 0
	if err != nil {
		out["error"] = map[string]string{"name": autherr.NameOf(err), "message": err.Error()}
		code = 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return code
}
