package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// runCheck is `gatehouse check`: it validates the config and prints every
// problem of every stage in one run: loading (YAML, substitution, required
// keys, removed options) and building (providers, transforms, resolvers,
// modules, catalog), each with its key path. It exits 0 when there is
// none, 1 otherwise. It contacts no IdP and opens no database.
func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("check", stderr)
	if !cf.parse(args, stderr) {
		return 2
	}
	cfg, problems := checkProblems(cf.files, cf.logger(stderr, config.Ops{}))
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b config.Problem) int { return strings.Compare(a.Path, b.Path) })
		printProblems(stderr, problems)
		return 1
	}
	fmt.Fprintf(stdout, "config OK: %s\n", strings.Join(cf.files, ", "))
	if routes := cfg.Auth.OAuthServer.MountedRoutes(); len(routes) > 0 {
		fmt.Fprintf(stdout, "OAuth authorization server at %s: %s\n", gateway.AuthBaseURL(cfg), strings.Join(routes, ", "))
	}
	return 0
}

// checkProblems loads files and builds a gateway from what loaded; cfg is
// nil when nothing loaded.
func checkProblems(files []string, logger *slog.Logger) (cfg *config.Config, problems config.Problems) {
	cfg, problems = config.LoadPartial(files, config.Options{})
	if cfg == nil {
		return nil, problems
	}
	gw, err := gateway.Build(cfg, gateway.Options{Logger: logger})
	if err == nil {
		gw.Close(context.Background())
		return cfg, problems
	}
	// Building sees zero values where loading found a problem; what it then
	// says about those keys (or the maps holding them) repeats the loading
	// problem, so only its other problems are kept. An error naming no key
	// comes from the last steps (the server), which re-check what loading
	// checks: kept only when loading found nothing.
	var built config.Problems
	if !errors.As(err, &built) {
		built = config.Problems{{Message: err.Error()}}
	}
	loaded := len(problems)
	for _, p := range built {
		if (p.Path == "" && loaded > 0) || coveredBy(p.Path, problems[:loaded]) {
			continue
		}
		problems = append(problems, p)
	}
	return cfg, problems
}

// coveredBy reports whether a problem at path is about a key that ps
// already reports: the same key, one inside it, or the map holding it.
func coveredBy(path string, ps config.Problems) bool {
	if path == "" {
		return false
	}
	for _, p := range ps {
		if p.Path == path || isUnder(p.Path, path) || isUnder(path, p.Path) {
			return true
		}
	}
	return false
}

// isUnder reports whether key path a lies inside key path b.
func isUnder(a, b string) bool {
	return strings.HasPrefix(a, b) && len(a) > len(b) && (a[len(b)] == '.' || a[len(b)] == '[')
}
