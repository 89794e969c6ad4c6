package pgtest

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
)

// OpenMigrated opens cfg's database (PostgreSQL on a URL from URL, or
// SQLite), applies the migrations and closes it when t ends; any failure
// ends t.
func OpenMigrated(t testing.TB, cfg sqlstore.Config) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
