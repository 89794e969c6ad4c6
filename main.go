// Command gatehouse is a standalone auth server that speaks Backstage's
// auth-backend protocol (/api/auth/...).
//
//	gatehouse serve --config app-config.yaml [--config more.yaml …]
//	gatehouse check --config app-config.yaml …
//	gatehouse dev   [--addr :7007]
//	gatehouse try   --config … --provider vcfsso --env development --profile sample.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/requestid"
)

const usage = `gatehouse: a Backstage-compatible auth server

Usage:
  gatehouse serve --config FILE [--config FILE …]   run the server
  gatehouse check --config FILE [--config FILE …]   validate the config and exit
  gatehouse dev                                     run the demo: dev IdP + server (make run)
  gatehouse healthcheck [URL]                       probe URL (default http://127.0.0.1:9464/readyz); exit 0 on 200
  gatehouse try   --config FILE … --provider ID [--env ENV] --profile FILE
                                                    run transforms and resolvers on a sample profile
  gatehouse resolve --config FILE … --provider ID [--env ENV] --claims FILE
                                                    trace each transform and resolver (with WebAssembly modules) on sample claims
  gatehouse migrate --config FILE …                 apply the database schema migrations and exit
  gatehouse keys  generate|inspect …                write or show a static signing key pair
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "config", "app-config file; repeat to merge several, the later one winning")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	var providerID, env, profile string
	devAddr := "127.0.0.1:5556"
	var skipMigrations bool
	switch cmd {
	case "resolve":
		fs.StringVar(&providerID, "provider", "", "provider id, e.g. vcfsso")
		fs.StringVar(&env, "env", "development", "provider environment")
		fs.StringVar(&profile, "claims", "", "JSON file: claims, or {\"userinfo\": {...}, \"idTokenClaims\": {...}}")
	case "try":
		fs.StringVar(&providerID, "provider", "", "provider id, e.g. vcfsso")
		fs.StringVar(&env, "env", "development", "provider environment")
		fs.StringVar(&profile, "profile", "", "JSON file: {\"userinfo\": {...}, \"idTokenClaims\": {...}}")
	case "dev":
		fs.StringVar(&devAddr, "idp-addr", devAddr, "loopback address of the dev IdP")
	case "serve":
		fs.BoolVar(&skipMigrations, "skip-migrations", false, "do not migrate the database schema at start (run `gatehouse migrate` instead)")
	case "check", "migrate":
	case "keys":
		return runKeys(args, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := newLogger(stderr, *logFormat)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "dev":
		return runDev(ctx, devAddr, stdout, stderr, logger)
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "gatehouse %s: at least one --config file is required\n", cmd)
		return 2
	}
	if cmd == "check" {
		return runCheck(files, stdout, stderr, logger)
	}
	cfg, err := config.Load(files)
	if err == nil {
		logger = configuredLogger(stderr, fs, *logFormat, cfg.Ops)
		if cmd == "migrate" {
			return runMigrate(ctx, cfg, stdout, stderr, logger)
		}
		bo := buildOptions{logger: logger}
		if cmd == "serve" {
			// The database: migrated, retried while PostgreSQL starts (stores.go).
			bo.db, err = openDatabase(ctx, cfg, logger, !skipMigrations)
		}
		var gw *gateway
		if err == nil {
			gw, err = build(cfg, bo)
		}
		if err == nil {
			switch cmd {
			case "try":
				return runTry(ctx, gw, providerID, env, profile, stdout, stderr)
			case "resolve":
				return runResolve(ctx, gw, providerID, env, profile, stdout, stderr)
			case "serve":
				return serve(ctx, gw, nil, stdout, logger)
			}
		}
	}
	printProblems(stderr, err)
	return 1
}

func printProblems(w io.Writer, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(w, p.String())
		}
		fmt.Fprintf(w, "%d problem(s) found\n", len(ps))
		return
	}
	fmt.Fprintln(w, err)
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// serve listens on backend.listen (and gatehouse.metrics.listen) and serves
// until ctx ends, then drains in-flight requests for up to
// gatehouse.shutdown.gracePeriod and closes what the gateway opened.
func serve(ctx context.Context, gw *gateway, extra http.Handler, stdout io.Writer, logger *slog.Logger) int {
	addr := net.JoinHostPort(gw.cfg.Backend.Listen.Host, strconv.Itoa(gw.cfg.Backend.Listen.Port))
	ln, err := gw.listen(addr)
	if err != nil {
		logger.Error("cannot listen", "addr", addr, "error", err)
		return 1
	}
	go gw.discoverAll(ctx, logger)
	go gw.watchModules(ctx, logger)
	stopOps, err := gw.startOpsServer(addr, logger)
	if err != nil {
		ln.Close()
		logger.Error("cannot serve metrics", "addr", gw.cfg.Ops.MetricsListen, "error", err)
		return 1
	}
	defer stopOps()
	// backend.https and backend.limits (edge.go).
	if ln, err = edgeListener(ln, gw.cfg); err != nil {
		logger.Error("cannot serve https", "error", err)
		return 1
	}
	for _, w := range httpsWarnings(gw.cfg) {
		logger.Warn(w)
	}
	srv := &http.Server{Handler: rootHandler(gw, extra)}
	applyLimits(srv, gw.cfg.Backend.Limits)
	logger.Info("gatehouse listening", "addr", ln.Addr().String(), "auth", authBaseURL(gw.cfg))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("server stopped", "error", err)
		return 1
	case <-ctx.Done():
	}
	gw.shutdown(srv, logger)
	return 0
}

// rootHandler mounts the auth routes at /api/auth and, in dev mode, the
// demo page everywhere else.
func rootHandler(gw *gateway, extra http.Handler) http.Handler {
	mux := http.NewServeMux()
	gw.mountOps(mux)
	mux.Handle("/api/auth/", gw.server.Handler())
	mux.Handle("/api/auth", gw.server.Handler())
	if extra != nil {
		mux.Handle("/", extra)
	} else {
		mux.Handle("/", gw.server.Handler())
	}
	return requestid.Middleware(mux)
}

// discoverAll contacts every OIDC IdP once at start-up so that a wrong
// metadataUrl shows in the log at once. Requests retry on their own.
func (gw *gateway) discoverAll(ctx context.Context, logger *slog.Logger) {
	for id, envs := range gw.envs {
		for env, pe := range envs {
			if d, ok := pe.Provider.(providers.Discoverer); ok {
				if err := d.Discover(ctx); err != nil {
					logger.Warn("IdP discovery failed; requests will retry", "provider", id, "env", env, "error", err)
				}
			}
		}
	}
}

// runCheck validates the config and prints every problem of every stage in
// one run: loading (YAML, substitution, required keys, removed options) and
// wiring (providers, transforms, resolvers, modules, catalog), each with its
// key path. It exits 0 when there is none, 1 otherwise.
func runCheck(files []string, stdout, stderr io.Writer, logger *slog.Logger) int {
	cfg, problems := config.LoadPartial(files, config.Options{})
	if cfg != nil {
		// Wiring sees zero values where loading found a problem; what it
		// then says about those keys (or the maps holding them) repeats
		// the loading problem, so only its other problems are kept. An
		// error naming no key comes from the last steps (the server),
		// which re-check what loading checks: kept only when loading
		// found nothing.
		if _, err := build(cfg, buildOptions{logger: logger}); err != nil {
			var wps config.Problems
			if !errors.As(err, &wps) {
				wps = config.Problems{{Message: err.Error()}}
			}
			loaded := len(problems)
			for _, wp := range wps {
				if (wp.Path == "" && loaded > 0) || coveredBy(wp.Path, problems[:loaded]) {
					continue
				}
				problems = append(problems, wp)
			}
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b config.Problem) int { return strings.Compare(a.Path, b.Path) })
		printProblems(stderr, problems)
		return 1
	}
	fmt.Fprintf(stdout, "config OK: %s\n", strings.Join(files, ", "))
	return 0
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
