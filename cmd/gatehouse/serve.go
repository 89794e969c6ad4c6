package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// runServe is `gatehouse serve`: it opens the database (migrated unless
// --skip-migrations, retried while PostgreSQL starts), builds the gateway
// and serves until SIGINT or SIGTERM, then drains and exits 0. With
// --debug-addr it also serves Go's profiler (net/http/pprof) there.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("serve", stderr)
	skipMigrations := cf.fs.Bool("skip-migrations", false, "do not migrate the database schema at start (run `gatehouse migrate` instead)")
	debugAddr := cf.fs.String("debug-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off by default. Only loopback is accepted: profiles are for operators on the machine")
	if !cf.parse(args, stderr) {
		return 2
	}
	if *debugAddr != "" {
		if err := checkLoopback(*debugAddr); err != nil {
			fmt.Fprintf(stderr, "gatehouse serve: --debug-addr: %v\n", err)
			return 2
		}
	}
	cfg, logger, ok := cf.load(stderr)
	if !ok {
		return 1
	}
	if *debugAddr != "" {
		stop, err := serveDebug(*debugAddr, logger)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse serve: --debug-addr: %v\n", err)
			return 1
		}
		defer stop()
	}
	db, err := gateway.OpenDatabase(ctx, cfg, logger, !*skipMigrations)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	gw, err := gateway.Build(cfg, gateway.Options{Logger: logger, DB: db})
	if err != nil {
		db.Close()
		printProblems(stderr, err)
		return 1
	}
	if gw.Serve(ctx, nil, logger) != nil {
		return 1
	}
	return 0
}

// checkLoopback accepts host:port whose host is a loopback IP or
// "localhost". The profiler shows the process's memory and stacks and lets
// anyone who reaches it burn CPU, so it must not be reachable from other
// machines; an empty host would listen on every interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address; profiles are for operators on the machine (use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", addr)
}

// serveDebug serves net/http/pprof's handlers on addr from a mux of its
// own, so that nothing else (and no other listener) ever serves them.
// stop closes the listener at once: profiles need no draining.
func serveDebug(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace streams for ?seconds=N.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	logger.Info("profiler listening", "addr", ln.Addr().String(), "paths", "/debug/pprof/")
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
