// Package sqlstore keeps signing keys and user info in a SQL database shared
// by every replica: PostgreSQL (through pgx) for many replicas, or SQLite
// (modernc.org/sqlite, pure Go) embedded in one process. One *DB is both an
// identity.KeyStore and an identity.UserInfoStore.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// Clients as Backstage's backend.database.client names them.
const (
	ClientPostgres = "pg"
	ClientSQLite   = "better-sqlite3"
	// ClientSQLite3 is Backstage's older name for the SQLite client.
	ClientSQLite3 = "sqlite3"
)

// MemoryDSN is the SQLite connection that keeps everything in memory.
const MemoryDSN = ":memory:"

// Config opens a DB.
type Config struct {
	// Client is ClientPostgres, ClientSQLite or ClientSQLite3.
	Client string
	// Connection is a PostgreSQL URL or keyword/value string for pg, and a
	// file path or MemoryDSN for SQLite. It may hold a password, so it is
	// never printed.
	Connection string
	// StartupTimeout is how long Open retries an unreachable PostgreSQL
	// before it gives up; 0 means one attempt.
	StartupTimeout time.Duration
	// OpTimeout bounds every query; 0 means 5 seconds. A database that
	// hangs then fails requests instead of holding them.
	OpTimeout time.Duration
	Logger    *slog.Logger
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	sql       *sql.DB
	pg        bool
	where     string // "PostgreSQL at host:port, database db" or "SQLite file.db"
	opTimeout time.Duration
	// graceMu guards graceSwept, when ClaimRefresh last deleted expired
	// refresh grace rows (refreshgrace.go).
	graceMu    sync.Mutex
	graceSwept time.Time
	// stmts are the prepared statements of the queries requests run
	// (stmts.go): unprepared, SQLite parses and plans each one every time.
	stmts stmtCache
}

var (
	_ identity.KeyStore      = (*DB)(nil)
	_ identity.UserInfoStore = (*DB)(nil)
)

// Open connects to the database cfg names and checks it answers. For
// PostgreSQL it retries with backoff for cfg.StartupTimeout. Errors name the
// host and database, never the password. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := db.waitReady(ctx, cfg, time.Now, sleep); err != nil {
		db.sql.Close()
		return nil, err
	}
	if !db.pg && cfg.Connection != MemoryDSN {
		if err := db.useWAL(ctx, time.Now, sleep); err != nil {
			db.sql.Close()
			return nil, err
		}
	}
	return db, nil
}

// open makes the handle without contacting the database.
func open(cfg Config) (*DB, error) {
	db := &DB{opTimeout: cfg.OpTimeout}
	if db.opTimeout <= 0 {
		db.opTimeout = 5 * time.Second
	}
	switch cfg.Client {
	case ClientPostgres:
		pc, err := pgx.ParseConfig(cfg.Connection)
		if err != nil {
			// pgx's message may quote the connection string; never show it.
			return nil, fmt.Errorf("backend.database.connection is not a valid PostgreSQL connection string or URL")
		}
		if pc.ConnectTimeout == 0 {
			pc.ConnectTimeout = 5 * time.Second
		}
		db.pg = true
		db.where = fmt.Sprintf("PostgreSQL at %s, database %q", hostPort(pc.Host, pc.Port), pc.Database)
		db.sql = stdlib.OpenDB(*pc)
		// As many idle connections as open ones: with fewer, a burst
		// beyond the idle count closed connections after each use and
		// opened new ones (a TCP connect, authentication and a backend
		// process on the server) for the next requests. Idle ones close
		// after five quiet minutes.
		db.sql.SetMaxOpenConns(pgMaxConns)
		db.sql.SetMaxIdleConns(pgMaxConns)
		db.sql.SetConnMaxIdleTime(5 * time.Minute)
	case ClientSQLite, ClientSQLite3:
		dsn, err := sqliteDSN(cfg.Connection)
		if err != nil {
			return nil, err
		}
		db.where = "SQLite " + cfg.Connection
		if db.sql, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("opening %s: %w", db.where, err)
		}
		if cfg.Connection == MemoryDSN {
			// Every connection to :memory: is its own database.
			db.sql.SetMaxOpenConns(1)
		} else {
			// database/sql keeps 2 idle connections by default, so at more
			// than two concurrent requests it closed connections and opened
			// new ones, each setting its pragmas and preparing its
			// statements again: a fifth of the CPU of a /refresh at
			// concurrency 4.
			db.sql.SetMaxIdleConns(sqliteMaxIdleConns)
		}
	default:
		return nil, fmt.Errorf("backend.database.client %q is not supported; use %q or %q", cfg.Client, ClientPostgres, ClientSQLite)
	}
	return db, nil
}

// Connection pool sizes (see open).
const (
	pgMaxConns         = 10
	sqliteMaxIdleConns = 16
)

func hostPort(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return host // a Unix socket directory
	}
	return host + ":" + strconv.Itoa(int(port))
}

func sqliteDSN(conn string) (string, error) {
	if conn == "" {
		return "", fmt.Errorf("backend.database.connection: a SQLite file path or %q is required", MemoryDSN)
	}
	if conn == MemoryDSN {
		return MemoryDSN, nil
	}
	if dir := filepath.Dir(conn); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("creating the directory of the SQLite file %s: %w", conn, err)
		}
	}
	// busy_timeout makes concurrent writers wait for the lock instead of
	// failing at once. WAL is set by useWAL, not here: see there.
	return "file:" + conn + "?_pragma=busy_timeout(" + strconv.Itoa(int(sqliteBusyTimeout/time.Millisecond)) + ")&_pragma=synchronous(NORMAL)", nil
}

// sqliteBusyTimeout is how long a SQLite connection waits for another's
// lock before it fails with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// useWAL switches a SQLite file to write-ahead logging, which lets readers
// run beside a writer. The mode is kept in the file, so every connection
// opened later uses it. SQLite does not wait for busy_timeout while it
// changes the journal mode (two connections that both hold a read lock and
// want the write lock would deadlock): a replica opening the same new file
// at the same moment makes the switch fail at once with SQLITE_BUSY (seen
// as a flaky "database is locked" from Open). So replicas in this process
// take turns (walSwitch), a file already in WAL mode is left alone, and a
// switch that still meets SQLITE_BUSY (another process) is retried for at
// most sqliteBusyTimeout, as busy_timeout would have waited.
func (db *DB) useWAL(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	walSwitch.Lock()
	defer walSwitch.Unlock()
	deadline := now().Add(sqliteBusyTimeout)
	wait := 5 * time.Millisecond
	for {
		var mode string
		err := db.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil && !strings.EqualFold(mode, "wal") {
			err = db.sql.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		}
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("%s: cannot use write-ahead logging (journal mode stays %q)", db.where, mode)
			}
			return nil
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || !now().Before(deadline) {
			return fmt.Errorf("%s: setting journal_mode=WAL: %w", db.where, err)
		}
		// Jitter, so that two processes retrying do not keep colliding.
		if err := sleep(ctx, wait/2+rand.N(wait)); err != nil {
			return fmt.Errorf("%s: setting journal_mode=WAL: %w", db.where, err)
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// walSwitch makes the SQLite databases opened by this process switch to WAL
// one at a time.
var walSwitch sync.Mutex

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// waitReady pings until the database answers, backing off from 250 ms to
// 5 s, until cfg.StartupTimeout has passed: the last wait is cut so that
// the final attempt happens at the deadline. The error gives the number of
// attempts and the time really spent. now and sleep are the clock (tests
// record the schedule with a fake one).
func (db *DB) waitReady(ctx context.Context, cfg Config, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	start := now()
	deadline := start.Add(cfg.StartupTimeout)
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.Ready(ctx)
		if err == nil {
			return nil
		}
		left := deadline.Sub(now())
		if !db.pg || left <= 0 {
			return fmt.Errorf("cannot connect to %s after %d attempt(s) in %s: %v", db.where, attempt, now().Sub(start).Round(time.Millisecond), errors.Unwrap(err))
		}
		wait := min(backoff, left)
		cfg.Logger.Warn("database not reachable yet; retrying", "database", db.where, "attempt", attempt, "retry_in", wait.String(), "error", errors.Unwrap(err))
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("cannot connect to %s: %w", db.where, err)
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// sleep waits for d, or until ctx ends (then returns ctx's error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Ready reports whether the database answers now, as a ServiceUnavailable
// error naming it when not. /readyz uses it.
func (db *DB) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(db.opTimeout, 2*time.Second))
	defer cancel()
	if err := db.sql.PingContext(ctx); err != nil {
		return autherr.Wrap(autherr.NameServiceUnavailable, "The database is not available", err)
	}
	return nil
}

// String names the database without any secret, e.g. for logs.
func (db *DB) String() string { return db.where }

// Close closes every connection.
func (db *DB) Close() error {
	db.closeStmts()
	return db.sql.Close()
}

// SQL is the underlying handle, for tests and tools.
func (db *DB) SQL() *sql.DB { return db.sql }

// q rewrites ? placeholders to PostgreSQL's $n.
func (db *DB) q(query string) string {
	if !db.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unavailable wraps a database failure in the envelope's 503, except
// PostgreSQL's data exceptions (SQLSTATE class 22: a NUL byte or invalid
// UTF-8 in text, a value too long), which are the request's fault and
// become an InputError: the database is fine, and saying otherwise would
// send operators looking for an outage.
func (db *DB) unavailable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return autherr.Wrap(autherr.NameInput, "The request holds a value that cannot be stored", err)
	}
	return autherr.Wrap(autherr.NameServiceUnavailable, "The database is not available", err)
}

func (db *DB) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.opTimeout)
}

// readCtx is ctx for a read by key (a primary-key or indexed lookup of one
// row). On SQLite it cannot be cancelled: with a context that can, the
// driver (modernc) starts a goroutine per statement to interrupt it, and
// database/sql another per result set to close it, which on /refresh cost
// more than the lookup. Such a read takes microseconds, and in WAL mode
// it waits for no writer; were the file locked (a checkpoint restarting
// the log), busy_timeout still bounds the wait. PostgreSQL reads go over
// the network and keep the operation timeout.
func (db *DB) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if !db.pg {
		return context.WithoutCancel(ctx), func() {}
	}
	return db.ctx(ctx)
}

func (db *DB) timeArg(t time.Time) any {
	if db.pg {
		return t.UTC()
	}
	return t.UnixMicro()
}

// AddKey implements identity.KeyStore.
func (db *DB) AddKey(ctx context.Context, k identity.PublicKey) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	res, err := db.exec(ctx, `INSERT INTO signing_keys (kid, jwk, created_at) VALUES (?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
		k.KID, string(k.JWK), db.timeArg(k.CreatedAt))
	if err != nil {
		return db.unavailable(err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return autherr.Conflict("signing key %s already exists", k.KID)
	}
	return nil
}

// ListKeys implements identity.KeyStore: oldest first.
func (db *DB) ListKeys(ctx context.Context) ([]identity.PublicKey, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.sql.QueryContext(ctx, `SELECT kid, jwk, created_at FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, db.unavailable(err)
	}
	defer rows.Close()
	var out []identity.PublicKey
	for rows.Next() {
		var k identity.PublicKey
		var jwk string
		if db.pg {
			err = rows.Scan(&k.KID, &jwk, &k.CreatedAt)
		} else {
			var us int64
			err = rows.Scan(&k.KID, &jwk, &us)
			k.CreatedAt = time.UnixMicro(us).UTC()
		}
		if err != nil {
			return nil, db.unavailable(err)
		}
		k.JWK = []byte(jwk)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, db.unavailable(err)
	}
	return out, nil
}

// RemoveKeys implements identity.KeyStore.
func (db *DB) RemoveKeys(ctx context.Context, kids []string) error {
	if len(kids) == 0 {
		return nil
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	args := make([]any, len(kids))
	for i, k := range kids {
		args[i] = k
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(kids)), ",")
	if _, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM signing_keys WHERE kid IN (`+marks+`)`), args...); err != nil {
		return db.unavailable(err)
	}
	return nil
}

// PutUserInfo implements identity.UserInfoStore: an upsert of the claims
// as JSON with their hash, skipped when the row already holds that hash.
//
// The check reads the row, not a hash remembered in this process, because
// other replicas (or another process on the same SQLite file, as in a
// rolling restart) write the same rows: a remembered "I last wrote H"
// says nothing about what the row holds now, and /v1/userinfo must answer
// the claims of the last token issued, whichever replica issued it. The
// read is what an unchanged /refresh pays instead of a write: on SQLite
// it takes no lock and syncs nothing (WAL readers run beside the writer);
// on PostgreSQL it is a primary-key lookup, where even a no-op upsert
// would lock, and so write, the row. When the hashes differ, the upsert's
// WHERE keeps it from rewriting a row that another replica brought to
// these claims in between; replicas issuing different claims at once end
// with the last writer's, as Backstage's upsert on every sign-in does.
func (db *DB) PutUserInfo(ctx context.Context, sub string, claims map[string]any) (bool, error) {
	body, hash, err := identity.UserInfoJSON(claims)
	if err != nil {
		return false, autherr.Input("user info for %s cannot be encoded as JSON", sub)
	}
	rctx, rcancel := db.readCtx(ctx)
	var stored sql.NullString
	err = db.queryRow(rctx, `SELECT claims_hash FROM user_info WHERE user_entity_ref = ?`, sub).Scan(&stored)
	rcancel()
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, db.unavailable(err)
	}
	if stored.Valid && stored.String == hash {
		return false, nil
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	res, err := db.exec(ctx, `INSERT INTO user_info (user_entity_ref, user_info, claims_hash, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (user_entity_ref) DO UPDATE SET user_info = excluded.user_info, claims_hash = excluded.claims_hash, updated_at = excluded.updated_at
WHERE user_info.claims_hash IS DISTINCT FROM excluded.claims_hash`,
		sub, string(body), hash, db.timeArg(time.Now()))
	if err != nil {
		return false, db.unavailable(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.unavailable(err)
	}
	return n > 0, nil
}

// GetUserInfo implements identity.UserInfoStore.
func (db *DB) GetUserInfo(ctx context.Context, sub string) (map[string]any, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	var body string
	err := db.queryRow(ctx, `SELECT user_info FROM user_info WHERE user_entity_ref = ?`, sub).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, autherr.NotFound("User info not found")
	}
	if err != nil {
		return nil, db.unavailable(err)
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(body), &claims); err != nil {
		return nil, autherr.Plain("stored user info for %s is not a JSON object", sub)
	}
	return claims, nil
}
