package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// runMigrate is `gatehouse migrate`: it applies the embedded schema
// migrations to backend.database and prints what it did. Running it again,
// or on several replicas at once, is safe.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("migrate", stderr)
	if !cf.parse(args, stderr) {
		return 2
	}
	cfg, logger, ok := cf.load(stderr)
	if !ok {
		return 1
	}
	db, err := gateway.OpenDatabase(ctx, cfg, logger, false)
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
