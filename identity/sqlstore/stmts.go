package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache holds the prepared statements of the queries a request runs,
// keyed by their SQL text as written (with ? placeholders). SQLite
// (modernc) parses and plans every statement it is handed unprepared: on
// /refresh that was a third of the session-end check's CPU, and the
// check runs on every refresh. pgx caches its own statements per
// connection, so for PostgreSQL this mainly saves rewriting the
// placeholders (db.q) on every call. database/sql prepares a Stmt again on
// each connection that runs it, on first use there, and within a
// transaction (Tx.StmtContext) reuses the one prepared on the
// transaction's connection.
//
// Only constant query texts go through the cache: it grows to the number
// of such texts in this package and no further.
type stmtCache struct {
	m sync.Map // query text → *sql.Stmt
	// mu serialises preparation, so that racing first calls of one query
	// prepare it once.
	mu sync.Mutex
	// warming holds the queries being prepared in the background (txStmt).
	warming sync.Map
}

// stmt returns query prepared, preparing it on first use. A failed
// prepare (say, before Migrate made the table) is not remembered: the next
// call tries again.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts.m.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if s, ok := db.stmts.m.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.sql.PrepareContext(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	db.stmts.m.Store(query, s)
	return s, nil
}

// exec runs query, prepared, with args.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// queryRow runs query, prepared, for one row.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) row {
	s, err := db.stmt(ctx, query)
	if err != nil {
		return row{err: err}
	}
	return row{row: s.QueryRowContext(ctx, args...)}
}

// txExec and txQueryRow are exec and queryRow within tx, on the statement
// prepared on tx's connection once query is in the cache. Until then the
// query runs unprepared and is prepared in the background: preparing it
// here would wait for a second connection while tx holds one, and with
// every connection held by a transaction doing the same, none would come.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	s, ok := db.txStmt(ctx, tx, query)
	if !ok {
		return tx.ExecContext(ctx, db.q(query), args...)
	}
	defer s.Close()
	return s.ExecContext(ctx, args...)
}

func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) row {
	s, ok := db.txStmt(ctx, tx, query)
	if !ok {
		return row{row: tx.QueryRowContext(ctx, db.q(query), args...)}
	}
	// The Tx closes its statements when it ends, after Scan has run.
	return row{row: s.QueryRowContext(ctx, args...)}
}

// txStmt returns query's cached statement bound to tx, or false after
// starting its preparation (once per query at a time).
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, bool) {
	if s, ok := db.stmts.m.Load(query); ok {
		return tx.StmtContext(ctx, s.(*sql.Stmt)), true
	}
	if _, busy := db.stmts.warming.LoadOrStore(query, true); !busy {
		go func() {
			defer db.stmts.warming.Delete(query)
			ctx, cancel := context.WithTimeout(context.Background(), db.opTimeout)
			defer cancel()
			_, _ = db.stmt(ctx, query) // a failure is retried by a later call
		}()
	}
	return nil, false
}

// row is a *sql.Row, or the error that kept the query from running.
type row struct {
	row *sql.Row
	err error
}

// Scan is sql.Row.Scan, or the prepare error.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// closeStmts closes every cached statement.
func (db *DB) closeStmts() {
	db.stmts.m.Range(func(k, s any) bool {
		s.(*sql.Stmt).Close()
		db.stmts.m.Delete(k)
		return true
	})
}
