package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const dbBase = "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: http://localhost:7007\n"

func TestDatabaseConfig(t *testing.T) {
	for name, c := range map[string]struct {
		yaml, client, conn string
		configured         bool
	}{
		"default":        {dbBase, "better-sqlite3", filepath.Join("data", "gatehouse.sqlite"), false},
		"dataDir":        {dbBase + "gatehouse: {dataDir: /var/lib/gh}\n", "better-sqlite3", "/var/lib/gh/gatehouse.sqlite", false},
		"memory":         {dbBase + "  database: {client: better-sqlite3, connection: ':memory:'}\n", "better-sqlite3", ":memory:", true},
		"sqlite3 alias":  {dbBase + "  database: {client: sqlite3, connection: {directory: /tmp/x}}\n", "better-sqlite3", "/tmp/x/gatehouse.sqlite", true},
		"pg url":         {dbBase + "  database: {client: pg, connection: 'postgres://u@db:5432/bs'}\n", "pg", "postgres://u@db:5432/bs", true},
		"pg map":         {dbBase + "  database:\n    client: pg\n    connection: {host: db.internal, port: 5433, user: bs, password: 'p@ss/w', database: backstage}\n", "pg", "postgres://bs:p%40ss%2Fw@db.internal:5433/backstage", true},
		"pg map no port": {dbBase + "  database: {client: pg, connection: {host: db, user: bs}}\n", "pg", "postgres://bs@db:5432", true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadBytes("a.yaml", []byte(c.yaml), Options{})
			if err != nil {
				t.Fatal(err)
			}
			db := cfg.Backend.Database
			if db.Client != c.client || db.Connection != c.conn || db.Configured != c.configured {
				t.Errorf("got %+v", db)
			}
			if db.StartupTimeout != 30*time.Second || cfg.Auth.KeyStore.Provider != "database" {
				t.Errorf("defaults: %v %q", db.StartupTimeout, cfg.Auth.KeyStore.Provider)
			}
		})
	}
}

func TestKeyStoreConfig(t *testing.T) {
	cfg, err := LoadBytes("a.yaml", []byte(dbBase+`auth:
  keyStore:
    provider: static
    static:
      keys:
        - {keyId: one, publicKeyFile: /k/one.pub, privateKeyFile: /k/one.key, algorithm: RS256}
        - {keyId: two, publicKeyFile: /k/two.pub}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ks := cfg.Auth.KeyStore
	if ks.Provider != "static" || len(ks.StaticKeys) != 2 || ks.StaticKeys[0].Algorithm != "RS256" || ks.StaticKeys[1].Algorithm != "ES256" || ks.StaticKeys[1].PrivateKeyFile != "" {
		t.Errorf("got %+v", ks)
	}
}

func TestPersistenceConfigErrors(t *testing.T) {
	_, err := LoadBytes("a.yaml", []byte(dbBase+`  database:
    client: mysql
    startupTimeout: {seconds: 5}
auth:
  keyStore:
    provider: static
    static:
      keys:
        - {keyId: one, publicKeyFile: /k/one.pub, algorithm: HS256, extra: 1}
`), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`backend.database.client: "mysql" is not supported`,
		"auth.keyStore.static.keys[0].privateKeyFile: required for the first key",
		`auth.keyStore.static.keys[0].algorithm: "HS256" is not supported`,
		"auth.keyStore.static.keys[0].extra",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = LoadBytes("a.yaml", []byte(dbBase+"  database:\n    client: pg\n    connection: {host: db, password: 123secret}\nauth: {keyStore: {provider: firestore}}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `auth.keyStore.provider: "firestore" is not supported`) || strings.Contains(err.Error(), "123secret") {
		t.Errorf("got %v", err)
	}
}
