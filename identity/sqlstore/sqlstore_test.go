package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
)

// backends opens a migrated, empty DB of each kind the suite runs on.
var backends = map[string]func(t *testing.T) *sqlstore.DB{
	"sqlite-memory": func(t *testing.T) *sqlstore.DB {
		return pgtest.OpenMigrated(t, sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: sqlstore.MemoryDSN})
	},
	"sqlite-file": func(t *testing.T) *sqlstore.DB {
		return pgtest.OpenMigrated(t, sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: filepath.Join(t.TempDir(), "data", "gatehouse.sqlite")})
	},
	"postgres": func(t *testing.T) *sqlstore.DB {
		return pgtest.OpenMigrated(t, sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgtest.URL(t)})
	},
}

// TestKeyStoreConformance runs the SQL stores through the suite; the memory
// stores run through it in package identity's tests, once.
func TestKeyStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunKeyStore(t, func(t *testing.T) identity.KeyStore { return open(t) })
		})
	}
}

func TestUserInfoStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunUserInfoStore(t, func(t *testing.T) identity.UserInfoStore { return open(t) })
		})
	}
}

// TestMigrateIdempotentAndConcurrent starts several "replicas" migrating
// one database at once: exactly one applies each migration, and running
// again applies nothing.
func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	for name, cfg := range map[string]func(t *testing.T) sqlstore.Config{
		"sqlite-file": func(t *testing.T) sqlstore.Config {
			return sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: filepath.Join(t.TempDir(), "g.sqlite")}
		},
		"postgres": func(t *testing.T) sqlstore.Config {
			return sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgtest.URL(t)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg(t)
			const replicas = 4
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := sqlstore.Open(context.Background(), c)
					if err != nil {
						t.Error(err)
						return
					}
					defer db.Close()
					applied, err := db.Migrate(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					total += len(applied)
					mu.Unlock()
				}()
			}
			wg.Wait()
			db := pgtest.OpenMigrated(t, c)
			all, _ := db.Migrations()
			if total != len(all) {
				t.Errorf("%d replicas applied %d migrations in all, want %d (each exactly once)", replicas, total, len(all))
			}
			again, err := db.Migrate(context.Background())
			if err != nil || len(again) != 0 {
				t.Errorf("second Migrate = %v, %v; want nothing applied", again, err)
			}
			if v, err := db.SchemaVersion(context.Background()); err != nil || v != all[len(all)-1].Version {
				t.Errorf("SchemaVersion = %d, %v", v, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := sqlstore.Open(ctx, sqlstore.Config{Client: "mysql2", Connection: "x"})
	if err == nil || !strings.Contains(err.Error(), `"mysql2" is not supported`) {
		t.Errorf("unknown client: %v", err)
	}
	// Nothing listens on port 1: the error names host and database, and
	// never the password.
	_, err = sqlstore.Open(ctx, sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: "postgres://gh:s3cret-pw@127.0.0.1:1/gatehouse_db?connect_timeout=1"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "gatehouse_db") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("unreachable PostgreSQL: %v", err)
	}
	_, err = sqlstore.Open(ctx, sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: "postgres://gh:s3cret-pw@[bad/x"})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestOpenSQLiteFileConcurrently opens a fresh SQLite file from several
// replicas at once, many times: none may fail with SQLITE_BUSY (switching
// a new file to WAL returns it without waiting for busy_timeout).
func TestOpenSQLiteFileConcurrently(t *testing.T) {
	for round := range 60 {
		path := filepath.Join(t.TempDir(), "g.sqlite")
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqlstore.Open(context.Background(), sqlstore.Config{Client: sqlstore.ClientSQLite, Connection: path})
				if err != nil {
					t.Errorf("round %d: %v", round, err)
					return
				}
				defer db.Close()
				var mode string
				if err := db.SQL().QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
					t.Errorf("round %d: journal_mode = %q, %v; want wal", round, mode, err)
				}
			}()
		}
		wg.Wait()
	}
}

func TestSessionEndStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunSessionEndStore(t, func(t *testing.T) identity.SessionEndStore { return open(t) })
		})
	}
}

func TestOAuthStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunOAuthStore(t, func(t *testing.T) identity.OAuthStore { return open(t) })
		})
	}
}
