package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
)

// forBenchBackends runs bench on a migrated SQLite file and PostgreSQL,
// the two databases a deployment keeps its state in.
func forBenchBackends(b *testing.B, bench func(b *testing.B, db *sqlstore.DB)) {
	for _, name := range []string{"sqlite-file", "postgres"} {
		b.Run(name, func(b *testing.B) {
			cfg := sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: filepath.Join(b.TempDir(), "gatehouse.sqlite")}
			if name == "postgres" {
				cfg = sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgtest.URL(b)}
			}
			bench(b, pgtest.OpenMigrated(b, cfg))
		})
	}
}

// BenchmarkPutUserInfoUnchanged is what recording user info costs a
// /refresh whose claims are the same as last time: the common case.
func BenchmarkPutUserInfoUnchanged(b *testing.B) {
	forBenchBackends(b, func(b *testing.B, db *sqlstore.DB) {
		ctx := context.Background()
		sub := "user:default/alice"
		claims := map[string]any{"sub": sub, "ent": []string{sub, "group:default/team-a"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.PutUserInfo(ctx, sub, claims); err != nil {
				b.Fatal(err)
			}
		}
	})
}
