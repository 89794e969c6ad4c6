package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
)

// OpenDatabase opens backend.database (SQLite under the data dir when it
// is absent), retrying an unreachable PostgreSQL for
// backend.database.startupTimeout, and applies the schema migrations
// unless migrate is false. Errors name the host and database, never the
// password.
func OpenDatabase(ctx context.Context, cfg *config.Config, logger *slog.Logger, migrate bool) (*sqlstore.DB, error) {
	c := cfg.Backend.Database
	db, err := sqlstore.Open(ctx, sqlstore.Config{Client: c.Client, Connection: c.Connection, StartupTimeout: c.StartupTimeout, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", c.Path, err)
		}
		if len(applied) > 0 {
			logger.Info("database migrated", "database", db.String(), "applied", applied)
		}
	}
	logger.Info("database ready", "database", db.String())
	return db, nil
}

// useStores picks the stores auth.keyStore names: with a database open,
// user info always lives there, and the signing keys too unless the
// provider is memory or static. Static keys are read from their files.
func useStores(cfg *config.Config, o *Options) ([]identity.StaticKey, error) {
	ks := cfg.Auth.KeyStore
	if o.DB != nil {
		if o.Keys == nil && (ks.Provider == config.KeyStoreDatabase || ks.Provider == "") {
			o.Keys = o.DB
		}
		if o.UserInfo == nil {
			o.UserInfo = o.DB
		}
		if o.SessionEnds == nil {
			o.SessionEnds = o.DB
		}
	}
	if ks.Provider != config.KeyStoreStatic {
		return nil, nil
	}
	var keys []identity.StaticKey
	var problems config.Problems
	for _, sk := range ks.StaticKeys {
		k, err := identity.LoadStaticKey(sk.KeyID, sk.Algorithm, sk.PublicKeyFile, sk.PrivateKeyFile)
		if err != nil {
			problems = append(problems, config.Problem{Path: sk.Path, Message: err.Error()})
			continue
		}
		keys = append(keys, k)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return keys, nil
}

// registerStores makes /readyz check the database and shutdown close it.
func registerStores(ops *opsState, db *sqlstore.DB) {
	if db == nil {
		return
	}
	ops.ready.Add("database", db.Ready)
	ops.onClose("database", func(context.Context) error { return db.Close() })
}

// refreshGraceStore is where concurrent refreshes of one rotating refresh
// token elect their one IdP call: the database, which every replica
// shares, when one is open; else memory, which serves this replica.
func refreshGraceStore(db *sqlstore.DB) identity.RefreshGraceStore {
	if db == nil {
		return identity.NewMemoryRefreshGraceStore()
	}
	return db
}

// refreshGracePeriod is gatehouse.sessions.refreshGracePeriod as
// server.Options reads it: there 0 means the default and a negative value
// none, here 0 means none.
func refreshGracePeriod(cfg *config.Config) time.Duration {
	if cfg.Sessions.RefreshGracePeriod == 0 {
		return -1
	}
	return cfg.Sessions.RefreshGracePeriod
}
