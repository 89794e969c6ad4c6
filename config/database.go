package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"
)

// Database clients as Backstage's backend.database.client names them.
const (
	DatabaseClientPostgres = "pg"
	DatabaseClientSQLite   = "better-sqlite3"
)

// Key store providers of auth.keyStore.provider.
const (
	KeyStoreDatabase = "database"
	KeyStoreMemory   = "memory"
	KeyStoreStatic   = "static"
)

const (
	defaultDataDir               = "data"
	defaultSQLiteFile            = "gatehouse.sqlite"
	defaultDatabaseStartupTimout = 30 * time.Second
)

// Database is backend.database in Backstage's form.
type Database struct {
	// Configured is false when backend.database is absent; then Client is
	// better-sqlite3 and Connection the file gatehouse.sqlite under
	// gatehouse.dataDir (default ./data).
	Configured bool
	// Client is "pg" or "better-sqlite3" ("sqlite3" is read as the latter).
	Client string
	// Connection is a PostgreSQL URL (also built from the {host, port,
	// user, password, database} form), or a SQLite file path or ":memory:".
	// It may hold a password: never print it.
	Connection string
	// StartupTimeout is backend.database.startupTimeout (Gatehouse's own):
	// how long start-up retries an unreachable PostgreSQL; default 30s.
	StartupTimeout time.Duration
	// Path is the key path, for messages.
	Path string
}

// KeyStore is auth.keyStore.
type KeyStore struct {
	// Provider is database (the default), memory or static.
	Provider string
	// StaticKeys is auth.keyStore.static.keys, in order: the first signs.
	StaticKeys []StaticKeyConfig
}

// StaticKeyConfig is one auth.keyStore.static.keys entry.
type StaticKeyConfig struct {
	KeyID          string
	Algorithm      string
	PublicKeyFile  string
	PrivateKeyFile string
	// Path is the key path of the entry, e.g. "auth.keyStore.static.keys[0]".
	Path string
}

var (
	databaseKeys       = []string{"client", "connection", "startupTimeout", "pluginDivisionMode", "ensureExists", "ensureSchemaExists", "prefix", "plugin", "knexConfig", "skipMigrations"}
	keyStoreKeys       = []string{"provider", "static", "firestore"}
	staticKeyEntryKeys = []string{"keyId", "algorithm", "publicKeyFile", "privateKeyFile"}
)

// decodePersistence reads backend.database, gatehouse.dataDir and
// auth.keyStore.
func (d *decoder) decodePersistence(raw map[string]any, cfg *Config) {
	db := &cfg.Backend.Database
	db.Path = "backend.database"
	db.StartupTimeout = defaultDatabaseStartupTimout
	dataDir := defaultDataDir
	if gh, ok := raw["gatehouse"].(map[string]any); ok {
		if s, ok := d.str(gh["dataDir"], "gatehouse.dataDir", false); ok && s != "" {
			dataDir = s
		}
	}
	db.Client = DatabaseClientSQLite
	db.Connection = filepath.Join(dataDir, defaultSQLiteFile)
	if be, ok := raw["backend"].(map[string]any); ok {
		if m, ok := d.mapOf(be["database"], "backend.database"); ok {
			d.decodeDatabase(m, db, dataDir)
		}
	}

	ks := &cfg.Auth.KeyStore
	ks.Provider = KeyStoreDatabase
	auth, _ := raw["auth"].(map[string]any)
	m, ok := d.mapOf(auth["keyStore"], "auth.keyStore")
	if !ok {
		return
	}
	d.unknownKeys(m, "auth.keyStore", keyStoreKeys)
	if s, ok := d.str(m["provider"], "auth.keyStore.provider", false); ok {
		switch s {
		case KeyStoreDatabase, KeyStoreMemory, KeyStoreStatic:
			ks.Provider = s
		default:
			d.add("auth.keyStore.provider", fmt.Sprintf("%q is not supported; use database, memory or static", s))
		}
	}
	if ks.Provider != KeyStoreStatic {
		return
	}
	st, _ := d.mapOf(m["static"], "auth.keyStore.static")
	keys, _ := d.listOf(st["keys"], "auth.keyStore.static.keys")
	if len(keys) == 0 {
		d.add("auth.keyStore.static.keys", "at least one key is required when auth.keyStore.provider is static")
	}
	for i, v := range keys {
		path := fmt.Sprintf("auth.keyStore.static.keys[%d]", i)
		e, ok := d.mapOf(v, path)
		if !ok {
			continue
		}
		d.unknownKeys(e, path, staticKeyEntryKeys)
		k := StaticKeyConfig{Path: path}
		k.KeyID = d.required(e, path, "keyId", false)
		k.PublicKeyFile = d.required(e, path, "publicKeyFile", false)
		k.PrivateKeyFile, _ = d.str(e["privateKeyFile"], path+".privateKeyFile", false)
		if i == 0 && k.PrivateKeyFile == "" {
			d.add(path+".privateKeyFile", "required for the first key, which signs tokens")
		}
		k.Algorithm = "ES256"
		if s, ok := d.str(e["algorithm"], path+".algorithm", false); ok {
			if s != "ES256" && s != "RS256" {
				d.add(path+".algorithm", fmt.Sprintf("%q is not supported; use ES256 or RS256", s))
			}
			k.Algorithm = s
		}
		ks.StaticKeys = append(ks.StaticKeys, k)
	}
}

func (d *decoder) decodeDatabase(m map[string]any, db *Database, dataDir string) {
	db.Configured = true
	d.unknownKeys(m, "backend.database", databaseKeys)
	if v, ok := m["startupTimeout"]; ok {
		if dur, ok := d.duration(v, "backend.database.startupTimeout"); ok {
			db.StartupTimeout = dur
		}
	}
	client, _ := d.str(m["client"], "backend.database.client", false)
	switch client {
	case DatabaseClientPostgres:
		db.Client = client
		db.Connection = d.pgConnection(m["connection"], "backend.database.connection")
	case DatabaseClientSQLite, "sqlite3":
		db.Client = DatabaseClientSQLite
		db.Connection = d.sqliteConnection(m["connection"], "backend.database.connection", dataDir)
	case "":
		d.add("backend.database.client", "required: pg or better-sqlite3")
	default:
		d.add("backend.database.client", fmt.Sprintf("%q is not supported; use pg or better-sqlite3", client))
	}
}

// pgConnection reads a connection string or Backstage's {host, port, user,
// password, database} map and returns a URL.
func (d *decoder) pgConnection(v any, path string) string {
	switch c := v.(type) {
	case nil:
		d.add(path, "required for client pg: a postgres:// URL or {host, port, user, password, database}")
	case string:
		if c == "" {
			d.add(path, "required for client pg")
		}
		return c
	case map[string]any:
		host := d.required(c, path, "host", false)
		port := "5432"
		if p, ok := c["port"]; ok && p != nil {
			if n, ok := d.port(p, path+".port"); ok {
				port = strconv.Itoa(n)
			}
		}
		u := &url.URL{Scheme: "postgres", Host: net.JoinHostPort(host, port)}
		user, _ := d.str(c["user"], path+".user", false)
		if pw, ok := d.str(c["password"], path+".password", true); ok {
			u.User = url.UserPassword(user, pw)
		} else if user != "" {
			u.User = url.User(user)
		}
		if db, ok := d.str(c["database"], path+".database", false); ok {
			u.Path = "/" + db
		}
		q := url.Values{}
		if s, ok := d.str(c["sslmode"], path+".sslmode", false); ok {
			q.Set("sslmode", s)
		}
		if ssl, ok := c["ssl"]; ok {
			if b, ok := ssl.(bool); ok && !b {
				q.Set("sslmode", "disable")
			} else if ok && b {
				q.Set("sslmode", "require")
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	default:
		d.typeErr(path, "a connection string or a map", v)
	}
	return ""
}

// sqliteConnection reads ':memory:', a file path, or knex's {filename} or
// Backstage's {directory} form.
func (d *decoder) sqliteConnection(v any, path, dataDir string) string {
	switch c := v.(type) {
	case nil:
		return filepath.Join(dataDir, defaultSQLiteFile)
	case string:
		if c == "" {
			return filepath.Join(dataDir, defaultSQLiteFile)
		}
		return c
	case map[string]any:
		if f, ok := d.str(c["filename"], path+".filename", false); ok && f != "" {
			return f
		}
		if dir, ok := d.str(c["directory"], path+".directory", false); ok && dir != "" {
			return filepath.Join(dir, defaultSQLiteFile)
		}
		d.add(path, "a SQLite connection map needs filename or directory")
	default:
		d.typeErr(path, "a file path, \":memory:\" or a map", v)
	}
	return ""
}
