// Package pgtest gives each test its own PostgreSQL schema on the server
// that GATEHOUSE_TEST_POSTGRES_URL names, so parallel runs never collide.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// EnvVar names the PostgreSQL server tests use; .ci/run sets it.
const EnvVar = "GATEHOUSE_TEST_POSTGRES_URL"

// URL ends t through testenv.Missing when EnvVar is unset (a skip, or a
// failure when GATEHOUSE_REQUIRE names postgres), and otherwise returns EnvVar's URL with
// a fresh, empty schema as its search_path. The schema is dropped when t
// ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		testenv.Missing(t, testenv.Postgres, EnvVar+" is not set (e.g. "+EnvVar+"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvVar)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gh_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s on %s: %v", schema, u.Host, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
