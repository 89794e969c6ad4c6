package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// runResolve is `gatehouse resolve`: it runs one provider environment's
// profile transforms and sign-in resolvers (WebAssembly modules included)
// on sample claims, without an IdP, and prints every step: each
// transform's output, each resolver's verdict and time, then the identity
// the configured chain gives. --json prints the same as one JSON object.
// It exits 0 when sign-in would succeed, 1 when it would fail.
func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("resolve", stderr)
	providerID := cf.fs.String("provider", "", "provider id, e.g. vcfsso (required)")
	env := cf.fs.String("env", "development", "provider environment")
	claimsFile := cf.fs.String("claims", "", "JSON file: claims, or {\"userinfo\": {...}, \"idTokenClaims\": {...}} (required)")
	asJSON := cf.fs.Bool("json", false, "print the trace and the result as one JSON object")
	if !cf.parse(args, stderr) {
		return 2
	}
	if *providerID == "" || *claimsFile == "" {
		fmt.Fprintln(stderr, "gatehouse resolve: --provider and --claims FILE are required")
		return 2
	}
	result, err := readClaims(*claimsFile)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse resolve: --claims: %v\n", err)
		return 2
	}
	cfg, logger, ok := cf.load(stderr)
	if !ok {
		return 1
	}
	settings := cfg.Auth.Providers[*providerID][*env]
	if settings == nil {
		fmt.Fprintf(stderr, "gatehouse resolve: auth.providers.%s.%s is not configured\n", *providerID, *env)
		return 2
	}
	gw, err := gateway.Build(cfg, gateway.Options{Logger: logger})
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	defer gw.Close(context.Background())
	tr := traceSignIn(ctx, gw, *providerID, *env, settings.SignIn, result)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(tr)
	} else {
		tr.print(stdout)
	}
	if tr.Error != nil {
		return 1
	}
	return 0
}

// readClaims reads --claims: either {"userinfo": {...}, "idTokenClaims":
// {...}} or a flat claims object, used as both userinfo and ID-token
// claims.
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
		var sp struct {
			UserInfo      map[string]any `json:"userinfo"`
			IDTokenClaims map[string]any `json:"idTokenClaims"`
		}
		if err := json.Unmarshal(raw, &sp); err != nil {
			return nil, fmt.Errorf("%s: userinfo and idTokenClaims must be objects: %v", file, err)
		}
		return &providers.Result{UserInfo: sp.UserInfo, IDTokenClaims: sp.IDTokenClaims}, nil
	}
	return &providers.Result{UserInfo: flat, IDTokenClaims: flat}, nil
}

// trace is what resolve found, step by step; its JSON form is --json's
// output.
type trace struct {
	Provider    string      `json:"provider"`
	Environment string      `json:"environment"`
	Transforms  []stepTrace `json:"transforms"`
	Resolvers   []stepTrace `json:"resolvers"`
	// Profile is the profile the transforms made.
	Profile *providers.Profile `json:"profile,omitempty"`
	// Resolver, UserEntityRef, OwnershipEntityRefs and ExtraClaims are
	// what the configured chain gives.
	Resolver            string         `json:"resolver,omitempty"`
	UserEntityRef       string         `json:"userEntityRef,omitempty"`
	OwnershipEntityRefs []string       `json:"ownershipEntityRefs,omitempty"`
	ExtraClaims         map[string]any `json:"extraClaims,omitempty"`
	// Note says why there is no identity when no resolver is configured.
	Note string `json:"note,omitempty"`
	// Error is why sign-in fails; nil when it succeeds.
	Error *errorTrace `json:"error,omitempty"`
	// failedAt is "profile transform" or "" (the resolvers).
	failedAt string
}

// stepTrace is one transform or resolver run on its own.
type stepTrace struct {
	Name       string      `json:"name"`
	Micros     int64       `json:"micros"`
	OpenFailed string      `json:"openFailed,omitempty"`
	Output     any         `json:"output,omitempty"`
	NotFound   bool        `json:"notFound,omitempty"`
	Error      *errorTrace `json:"error,omitempty"`
	took       time.Duration
}

// errorTrace is an error as sign-in would name it.
type errorTrace struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

func errorOf(err error) *errorTrace {
	return &errorTrace{Name: autherr.NameOf(err), Message: err.Error()}
}

// traceSignIn runs each transform, then each resolver on its own until one
// decides, then the configured chain.
func traceSignIn(ctx context.Context, gw *gateway.Gateway, providerID, env string, signIn config.SignIn, result *providers.Result) *trace {
	tr := &trace{Provider: providerID, Environment: env, Transforms: []stepTrace{}, Resolvers: []stepTrace{}}
	profile, ok := tr.runTransforms(ctx, gw, signIn.ProfileTransforms, result)
	if !ok {
		return tr
	}
	tr.Profile = &profile
	if len(signIn.Resolvers) == 0 {
		tr.Note = "no signIn.resolvers configured: sign-in would return no backstageIdentity"
		return tr
	}
	in := resolvers.SignInInput{ProviderID: providerID, Profile: profile, Result: result}
	if !tr.runResolvers(ctx, gw, signIn.Resolvers, in) {
		return tr
	}
	opened, _ := gw.Env(providerID, env)
	res, err := opened.Resolver.Resolve(ctx, in)
	if err != nil {
		tr.Error = errorOf(err)
		return tr
	}
	tr.Resolver, tr.UserEntityRef, tr.OwnershipEntityRefs, tr.ExtraClaims = res.Resolver, res.UserEntityRef, res.OwnershipEntityRefs, res.ExtraClaims
	return tr
}

// runTransforms runs the configured profile transforms (the provider's
// default when none is) one after the other.
func (tr *trace) runTransforms(ctx context.Context, gw *gateway.Gateway, steps []config.Step, result *providers.Result) (providers.Profile, bool) {
	if len(steps) == 0 {
		steps = []config.Step{{Name: gw.DefaultTransform(tr.Provider)}}
	}
	factories := gw.Modules().Transforms(resolvers.BuiltinTransforms())
	var profile providers.Profile
	for _, s := range steps {
		st := stepTrace{Name: s.Name}
		t, err := factories[s.Name](s.Options)
		if err != nil {
			st.OpenFailed = err.Error()
			tr.Transforms = append(tr.Transforms, st)
			tr.Error, tr.failedAt = errorOf(err), "profile transform"
			return profile, false
		}
		start := time.Now()
		p, err := t.Transform(ctx, resolvers.TransformInput{ProviderID: tr.Provider, Result: result, Profile: profile})
		st.took = time.Since(start)
		st.Micros = st.took.Microseconds()
		if err != nil {
			st.Error = errorOf(err)
			tr.Transforms = append(tr.Transforms, st)
			tr.Error, tr.failedAt = st.Error, "profile transform"
			return profile, false
		}
		profile, st.Output = p, p
		tr.Transforms = append(tr.Transforms, st)
	}
	return profile, true
}

// runResolvers runs each configured resolver on its own, up to the first
// that does not answer NotFound, as the chain would. It returns false when
// a resolver could not be opened.
func (tr *trace) runResolvers(ctx context.Context, gw *gateway.Gateway, steps []config.Step, in resolvers.SignInInput) bool {
	factories := gw.Modules().Resolvers(resolvers.BuiltinResolvers())
	deps := resolvers.Deps{Catalog: gw.Catalog()}
	for _, s := range steps {
		st := stepTrace{Name: s.Name}
		r, err := factories[s.Name](s.Options, deps)
		if err != nil {
			st.OpenFailed = err.Error()
			tr.Resolvers = append(tr.Resolvers, st)
			tr.Error = errorOf(err)
			return false
		}
		start := time.Now()
		res, err := r.Resolve(ctx, in)
		st.took = time.Since(start)
		st.Micros = st.took.Microseconds()
		switch {
		case err == nil:
			st.Output = res
		case autherr.IsNotFound(err):
			st.NotFound, st.Error = true, errorOf(err)
		default:
			st.Error = errorOf(err)
		}
		tr.Resolvers = append(tr.Resolvers, st)
		if err == nil || !autherr.IsNotFound(err) {
			break
		}
	}
	return true
}

// print writes the trace as text, one line per step.
func (tr *trace) print(w io.Writer) {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	verdict := func(e *errorTrace) string { return e.Name + ": " + e.Message }
	fmt.Fprintf(w, "provider %s, environment %s\n\nprofile transforms:\n", tr.Provider, tr.Environment)
	for i, s := range tr.Transforms {
		switch {
		case s.OpenFailed != "":
			fmt.Fprintf(w, "  %d. %-40s open failed: %s\n", i+1, s.Name, s.OpenFailed)
			return
		case s.Error != nil:
			fmt.Fprintf(w, "  %d. %-40s %-10s %s\n", i+1, s.Name, s.took.Round(time.Microsecond), verdict(s.Error))
			fmt.Fprintln(w, "\nsign-in fails at the profile transform")
			return
		}
		fmt.Fprintf(w, "  %d. %-40s %-10s %s\n", i+1, s.Name, s.took.Round(time.Microsecond), show(s.Output))
	}
	fmt.Fprintln(w, "\nsign-in resolvers:")
	if tr.Note != "" {
		fmt.Fprintln(w, "  (none configured: sign-in would return no backstageIdentity)")
		return
	}
	for i, s := range tr.Resolvers {
		took := s.took.Round(time.Microsecond)
		switch {
		case s.OpenFailed != "":
			fmt.Fprintf(w, "  %d. %-40s open failed: %s\n", i+1, s.Name, s.OpenFailed)
			return
		case s.NotFound:
			fmt.Fprintf(w, "  %d. %-40s %-10s not found (%s), next\n", i+1, s.Name, took, s.Error.Message)
		case s.Error != nil:
			fmt.Fprintf(w, "  %d. %-40s %-10s %s\n", i+1, s.Name, took, verdict(s.Error))
		default:
			res := s.Output.(*resolvers.SignInResult)
			fmt.Fprintf(w, "  %d. %-40s %-10s ok %s ownership %s", i+1, s.Name, took, res.UserEntityRef, show(res.OwnershipEntityRefs))
			if len(res.ExtraClaims) > 0 {
				fmt.Fprintf(w, " claims %s", show(res.ExtraClaims))
			}
			fmt.Fprintln(w)
		}
	}
	if tr.Error != nil {
		fmt.Fprintf(w, "\nresult: sign-in fails: %s\n", verdict(tr.Error))
		return
	}
	fmt.Fprintf(w, "\nresult: %s (by %s)\n", tr.UserEntityRef, tr.Resolver)
	fmt.Fprintf(w, "  ownershipEntityRefs: %s\n", show(tr.OwnershipEntityRefs))
	if len(tr.ExtraClaims) > 0 {
		fmt.Fprintf(w, "  extra claims: %s\n", show(tr.ExtraClaims))
	}
}
