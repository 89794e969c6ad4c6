package main

import (
	"context"
	"io"

	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// runServe is `gatehouse serve`: it opens the database (migrated unless
// --skip-migrations, retried while PostgreSQL starts), builds the gateway
// and serves until SIGINT or SIGTERM, then drains and exits 0.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("serve", stderr)
	skipMigrations := cf.fs.Bool("skip-migrations", false, "do not migrate the database schema at start (run `gatehouse migrate` instead)")
	if !cf.parse(args, stderr) {
		return 2
	}
	cfg, logger, ok := cf.load(stderr)
	if !ok {
		return 1
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
