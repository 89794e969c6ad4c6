package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
)

var _ identity.RefreshGraceStore = (*DB)(nil)

// ClaimRefresh implements identity.RefreshGraceStore. The election is one
// statement on the primary key: of the replicas inserting the same
// token_hash with INSERT … ON CONFLICT, exactly one inserts a row, or takes
// over an expired one (DO UPDATE … WHERE expired); a live row is left
// alone (0 rows affected). At most once a second per process, a claim
// also deletes the expired rows of every key (through the expires_at
// index), so that the table stays small without a sweeper.
func (db *DB) ClaimRefresh(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	if db.graceSweepDue(now) {
		if _, err := db.exec(ctx, `DELETE FROM refresh_grace WHERE expires_at <= ?`, db.timeArg(now)); err != nil {
			return false, db.unavailable(err)
		}
	}
	res, err := db.exec(ctx, `INSERT INTO refresh_grace (token_hash, answer, expires_at) VALUES (?, NULL, ?)
ON CONFLICT (token_hash) DO UPDATE SET answer = NULL, expires_at = excluded.expires_at WHERE refresh_grace.expires_at <= ?`,
		key, db.timeArg(expires), db.timeArg(now))
	if err != nil {
		return false, db.unavailable(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.unavailable(err)
	}
	return n == 1, nil
}

// graceSweepDue reports whether a second has passed (by the caller's
// clock) since this process last swept expired grace rows, and if so
// starts a new second.
func (db *DB) graceSweepDue(now time.Time) bool {
	db.graceMu.Lock()
	defer db.graceMu.Unlock()
	if now.Sub(db.graceSwept) < time.Second && !now.Before(db.graceSwept) {
		return false
	}
	db.graceSwept = now
	return true
}

// PutRefresh implements identity.RefreshGraceStore: an upsert.
func (db *DB) PutRefresh(ctx context.Context, key string, answer []byte, expires time.Time) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	_, err := db.exec(ctx, `INSERT INTO refresh_grace (token_hash, answer, expires_at) VALUES (?, ?, ?)
ON CONFLICT (token_hash) DO UPDATE SET answer = excluded.answer, expires_at = excluded.expires_at`,
		key, answer, db.timeArg(expires))
	if err != nil {
		return db.unavailable(err)
	}
	return nil
}

// GetRefresh implements identity.RefreshGraceStore.
func (db *DB) GetRefresh(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	var answer []byte
	err := db.queryRow(ctx, `SELECT answer FROM refresh_grace WHERE token_hash = ? AND expires_at > ?`, key, db.timeArg(now)).Scan(&answer)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, db.unavailable(err)
	}
	return answer, true, nil
}

// ReleaseRefresh implements identity.RefreshGraceStore.
func (db *DB) ReleaseRefresh(ctx context.Context, key string) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	if _, err := db.exec(ctx, `DELETE FROM refresh_grace WHERE token_hash = ? AND answer IS NULL`, key); err != nil {
		return db.unavailable(err)
	}
	return nil
}

// DeleteExpiredRefresh implements identity.RefreshGraceStore.
func (db *DB) DeleteExpiredRefresh(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	res, err := db.exec(ctx, `DELETE FROM refresh_grace WHERE expires_at <= ?`, db.timeArg(now))
	if err != nil {
		return 0, db.unavailable(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, db.unavailable(err)
	}
	return int(n), nil
}
