package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// migrationLockKey is the pg_advisory_lock key: replicas starting at once
// take turns, and the second finds nothing left to do.
const migrationLockKey = 0x6761746568 // "gateh"

// Migration is one embedded schema change.
type Migration struct {
	Version int
	Name    string
	sql     string
}

// Migrations lists the embedded migrations of this DB's dialect, in order.
func (db *DB) Migrations() ([]Migration, error) {
	dir := "migrations/sqlite"
	if db.pg {
		dir = "migrations/pg"
	}
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range ents {
		v, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("embedded migration %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: n, Name: strings.TrimSuffix(e.Name(), ".sql"), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// Migrate applies the embedded migrations not yet recorded in the
// gatehouse_schema_migrations table and returns the names it applied. It is
// idempotent and safe when several replicas run it at once: PostgreSQL
// serialises them with an advisory lock, SQLite with BEGIN IMMEDIATE.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	all, err := db.Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating %s: %w", db.where, err)
	}
	defer conn.Close()
	applied, err := db.migrateOn(ctx, conn, all)
	if err != nil {
		return applied, fmt.Errorf("migrating %s: %w", db.where, err)
	}
	return applied, nil
}

func (db *DB) migrateOn(ctx context.Context, conn *sql.Conn, all []Migration) (applied []string, err error) {
	exec := func(q string, args ...any) error {
		_, err := conn.ExecContext(ctx, db.q(q), args...)
		return err
	}
	if db.pg {
		if err := exec(`SELECT pg_advisory_lock(?)`, migrationLockKey); err != nil {
			return nil, err
		}
		defer func() {
			// A fresh context: the lock must go even when ctx has ended.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
		}()
		if err := exec(`BEGIN`); err != nil {
			return nil, err
		}
	} else if err := exec(`BEGIN IMMEDIATE`); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			applied = nil
		}
	}()
	appliedAt := "TIMESTAMPTZ NOT NULL DEFAULT now()"
	if !db.pg {
		appliedAt = "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"
	}
	if err := exec(`CREATE TABLE IF NOT EXISTS gatehouse_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + appliedAt + `)`); err != nil {
		return nil, err
	}
	done := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM gatehouse_schema_migrations`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, m := range all {
		if done[m.Version] {
			continue
		}
		for _, stmt := range statements(m.sql) {
			if err := exec(stmt); err != nil {
				return nil, fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if err := exec(`INSERT INTO gatehouse_schema_migrations (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
			return nil, fmt.Errorf("recording migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	if err := exec(`COMMIT`); err != nil {
		return nil, err
	}
	return applied, nil
}

// SchemaVersion is the highest applied migration version, 0 when none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.sql.QueryRowContext(ctx, `SELECT MAX(version) FROM gatehouse_schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version of %s: %w", db.where, err)
	}
	return int(v.Int64), nil
}

// statements splits a migration file at semicolons that end a line, after
// dropping -- comments; the embedded files hold no other semicolons.
func statements(src string) []string {
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, s := range strings.Split(strings.Join(lines, "\n"), ";\n") {
		if s = strings.TrimSuffix(strings.TrimSpace(s), ";"); s != "" {
			out = append(out, s)
		}
	}
	return out
}
