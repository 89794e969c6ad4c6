package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/config"
)

// runMigrate is `gatehouse migrate`: it applies the embedded schema
// migrations to backend.database and prints what it did. Running it again,
// or on several replicas at once, is safe.
func runMigrate(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer, logger *slog.Logger) int {
	db, err := openDatabase(ctx, cfg, logger, false)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m)
	}
	fmt.Fprintf(stdout, "%s: schema at version %d (%d migration(s) applied now)\n", db, v, len(applied))
	return 0
}
