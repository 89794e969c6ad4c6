package gateway

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// sqliteConfig is a config whose backend.database is a SQLite file in a
// fresh directory, with auth.keyStore.provider keyStore ("" for none).
func sqliteConfig(t *testing.T, keyStore string) string {
	yaml := base[:len(base)-len("}\n")] + ", database: {client: better-sqlite3, connection: " + filepath.Join(t.TempDir(), "gatehouse.sqlite") + "}}\n"
	if keyStore != "" {
		yaml += "auth: {keyStore: {provider: " + keyStore + "}}\n"
	}
	return yaml
}

// TestOpenDatabaseSQLite: OpenDatabase migrates a SQLite file when asked,
// and opens it as it is when not.
func TestOpenDatabaseSQLite(t *testing.T) {
	ctx := context.Background()
	cfg := load(t, sqliteConfig(t, ""))
	fresh, err := OpenDatabase(ctx, cfg, quiet(), false)
	if err != nil {
		t.Fatal(err)
	}
	// An unmigrated file has no schema table yet, or version 0.
	if v, err := fresh.SchemaVersion(ctx); err == nil && v != 0 {
		t.Errorf("schema at version %d without migrating", v)
	}
	fresh.Close()
	logs := newLogWatch()
	db, err := OpenDatabase(ctx, cfg, logs.logger(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v == 0 {
		t.Errorf("migrated schema version %d, %v", v, err)
	}
	if log := logs.String(); !strings.Contains(log, "database migrated") || !strings.Contains(log, "database ready") {
		t.Errorf("log:\n%s", log)
	}
}

// TestOpenDatabaseErrorHidesPassword: an unreachable PostgreSQL is an
// error at backend.database naming where it is, never the password.
func TestOpenDatabaseErrorHidesPassword(t *testing.T) {
	const password = "hunter2-not-for-logs"
	cfg := load(t, base[:len(base)-len("}\n")]+", database: {client: pg, startupTimeout: 1ms, connection: 'postgres://gatehouse:"+password+"@127.0.0.1:1/auth?sslmode=disable'}}\n")
	if cfg.Backend.Database.StartupTimeout <= 0 {
		t.Fatalf("startupTimeout %v", cfg.Backend.Database.StartupTimeout)
	}
	logs := newLogWatch()
	db, err := OpenDatabase(context.Background(), cfg, logs.logger(), true)
	if err == nil {
		db.Close()
		t.Fatal("opened a database at 127.0.0.1:1")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "backend.database: ") || !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, password) {
		t.Errorf("error %q: want it at backend.database, naming 127.0.0.1:1, without the password", msg)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the password is in the log:\n%s", logs.String())
	}
}

// TestBuildOnDatabase: with a database open, user info lives there, the
// signing keys too unless auth.keyStore says memory; /readyz checks the
// database and closing the gateway closes it.
func TestBuildOnDatabase(t *testing.T) {
	ctx := context.Background()
	for keyStore, keysInDB := range map[string]int{"": 1, "database": 1, "memory": 0} {
		t.Run("keyStore "+keyStore, func(t *testing.T) {
			cfg := load(t, sqliteConfig(t, keyStore))
			db, err := OpenDatabase(ctx, cfg, quiet(), true)
			if err != nil {
				t.Fatal(err)
			}
			gw, err := Build(cfg, Options{Logger: quiet(), DB: db})
			if err != nil {
				db.Close()
				t.Fatal(err)
			}
			if _, err := gw.Tokens().IssueToken(ctx, identity.Claims{Sub: "user:default/alice"}); err != nil {
				t.Fatal(err)
			}
			if keys, err := db.ListKeys(ctx); err != nil || len(keys) != keysInDB {
				t.Errorf("keys in the database: %d, %v; want %d", len(keys), err, keysInDB)
			}
			srv := httptest.NewServer(gw.OpsHandler())
			defer srv.Close()
			if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"name":"database","ok":true`) {
				t.Errorf("/readyz %d %s", code, body)
			}
			gw.Close(ctx)
			if err := db.Ready(ctx); err == nil {
				t.Error("the database is still open after Close")
			}
		})
	}
}
