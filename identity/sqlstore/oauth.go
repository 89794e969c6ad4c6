package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

var _ identity.OAuthStore = (*DB)(nil)

// The single-use guarantees of identity.OAuthStore rest on conditional
// writes (UPDATE … WHERE <still in the old state>) whose affected-row count
// says who won: PostgreSQL re-checks the WHERE after waiting for a
// concurrent writer's row lock, and SQLite serialises writers.

// timeOf converts a scanned timestamp column to a UTC time.
func (db *DB) timeOf(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case int64:
		return time.UnixMicro(t).UTC()
	}
	return time.Time{}
}

// inserted turns an INSERT … ON CONFLICT DO NOTHING result into a
// Conflict when it inserted nothing.
func (db *DB) inserted(res sql.Result, err error, what string) error {
	if err != nil {
		return db.unavailable(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.unavailable(err)
	} else if n == 0 {
		return autherr.Conflict("%s already exists", what)
	}
	return nil
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CreateClient implements identity.OAuthClientStore.
func (db *DB) CreateClient(ctx context.Context, c identity.OAuthClient) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	uris, _ := json.Marshal(nonNil(c.RedirectURIs))
	grants, _ := json.Marshal(nonNil(c.GrantTypes))
	resp, _ := json.Marshal(nonNil(c.ResponseTypes))
	res, err := db.exec(ctx, `INSERT INTO oauth_clients (client_id, secret_hash, client_name, redirect_uris, grant_types, response_types, scope, created_at, expires_at, last_used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		c.ID, c.SecretHash, c.Name, string(uris), string(grants), string(resp), c.Scope, db.timeArg(c.Created), db.timeArg(c.Expires), db.timeArg(c.LastUsed))
	return db.inserted(res, err, "the client")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetClient implements identity.OAuthClientStore.
func (db *DB) GetClient(ctx context.Context, id string) (identity.OAuthClient, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	var c identity.OAuthClient
	var uris, grants, resp string
	var created, expires, used any
	err := db.queryRow(ctx, `SELECT client_id, secret_hash, client_name, redirect_uris, grant_types, response_types, scope, created_at, expires_at, last_used_at
FROM oauth_clients WHERE client_id = ?`, id).Scan(&c.ID, &c.SecretHash, &c.Name, &uris, &grants, &resp, &c.Scope, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return c, autherr.NotFound("no client %q", id)
	} else if err != nil {
		return c, db.unavailable(err)
	}
	for _, f := range []struct {
		s   string
		dst *[]string
	}{{uris, &c.RedirectURIs}, {grants, &c.GrantTypes}, {resp, &c.ResponseTypes}} {
		if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
			return c, autherr.Wrap(autherr.NameError, "a stored client is malformed", err)
		}
	}
	c.Created, c.Expires, c.LastUsed = db.timeOf(created), db.timeOf(expires), db.timeOf(used)
	return c, nil
}

// TouchClient implements identity.OAuthClientStore.
func (db *DB) TouchClient(ctx context.Context, id string, now, expires time.Time) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	n, err := affected(db.exec(ctx, `UPDATE oauth_clients SET last_used_at = ?, expires_at = ? WHERE client_id = ?`, db.timeArg(now), db.timeArg(expires), id))
	if err != nil {
		return db.unavailable(err)
	}
	if n == 0 {
		return autherr.NotFound("no client %q", id)
	}
	return nil
}

// CreateAuthSession implements identity.AuthSessionStore.
func (db *DB) CreateAuthSession(ctx context.Context, s identity.AuthSession) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	res, err := db.exec(ctx, `INSERT INTO oauth_auth_sessions (id, client_id, redirect_uri, scope, code_challenge, code_challenge_method, state, nonce, resource, status, user_entity_ref, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?) ON CONFLICT DO NOTHING`,
		s.ID, s.ClientID, s.RedirectURI, s.Scope, s.CodeChallenge, s.CodeChallengeMethod, s.State, s.Nonce, s.Resource, identity.AuthPending, db.timeArg(s.Expires))
	return db.inserted(res, err, "the authorization session")
}

// GetAuthSession implements identity.AuthSessionStore.
func (db *DB) GetAuthSession(ctx context.Context, id string) (identity.AuthSession, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	var s identity.AuthSession
	var expires any
	err := db.queryRow(ctx, `SELECT id, client_id, redirect_uri, scope, code_challenge, code_challenge_method, state, nonce, resource, status, user_entity_ref, expires_at
FROM oauth_auth_sessions WHERE id = ?`, id).Scan(&s.ID, &s.ClientID, &s.RedirectURI, &s.Scope, &s.CodeChallenge, &s.CodeChallengeMethod, &s.State, &s.Nonce, &s.Resource, &s.Status, &s.UserEntityRef, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, autherr.NotFound("no authorization session %q", id)
	} else if err != nil {
		return s, db.unavailable(err)
	}
	s.Expires = db.timeOf(expires)
	return s, nil
}

// ApproveAuthSession implements identity.AuthSessionStore.
func (db *DB) ApproveAuthSession(ctx context.Context, id, userEntityRef string, now time.Time) (identity.AuthSession, error) {
	return db.decide(ctx, id, identity.AuthApproved, userEntityRef, now)
}

// RejectAuthSession implements identity.AuthSessionStore.
func (db *DB) RejectAuthSession(ctx context.Context, id, userEntityRef string, now time.Time) (identity.AuthSession, error) {
	return db.decide(ctx, id, identity.AuthRejected, userEntityRef, now)
}

func (db *DB) decide(ctx context.Context, id, status, userEntityRef string, now time.Time) (identity.AuthSession, error) {
	octx, cancel := db.ctx(ctx)
	n, err := affected(db.exec(octx, `UPDATE oauth_auth_sessions SET status = ?, user_entity_ref = ?
WHERE id = ? AND status = ? AND expires_at > ?`, status, userEntityRef, id, identity.AuthPending, db.timeArg(now)))
	cancel()
	if err != nil {
		return identity.AuthSession{}, db.unavailable(err)
	}
	s, err := db.GetAuthSession(ctx, id)
	if err != nil {
		return identity.AuthSession{}, err
	}
	if n == 1 {
		return s, nil
	}
	if s.Status != identity.AuthPending {
		return identity.AuthSession{}, identity.ErrAuthSessionDecided
	}
	return identity.AuthSession{}, identity.ErrAuthSessionExpired
}

// CreateCode implements identity.AuthCodeStore.
func (db *DB) CreateCode(ctx context.Context, c identity.AuthCode) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	res, err := db.exec(ctx, `INSERT INTO oauth_auth_codes (code_hash, session_id, client_id, redirect_uri, user_entity_ref, expires_at, used)
VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`, c.Hash, c.SessionID, c.ClientID, c.RedirectURI, c.UserEntityRef, db.timeArg(c.Expires))
	return db.inserted(res, err, "the authorization code")
}

// RedeemCode implements identity.AuthCodeStore.
func (db *DB) RedeemCode(ctx context.Context, hash string, now time.Time) (identity.AuthCode, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	n, err := affected(db.exec(ctx, `UPDATE oauth_auth_codes SET used = 1 WHERE code_hash = ? AND used = 0 AND expires_at > ?`, hash, db.timeArg(now)))
	if err != nil {
		return identity.AuthCode{}, db.unavailable(err)
	}
	var c identity.AuthCode
	var expires any
	var used int
	err = db.queryRow(ctx, `SELECT code_hash, session_id, client_id, redirect_uri, user_entity_ref, expires_at, used FROM oauth_auth_codes WHERE code_hash = ?`, hash).
		Scan(&c.Hash, &c.SessionID, &c.ClientID, &c.RedirectURI, &c.UserEntityRef, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.AuthCode{}, autherr.NotFound("unknown authorization code")
	} else if err != nil {
		return identity.AuthCode{}, db.unavailable(err)
	}
	c.Expires = db.timeOf(expires)
	switch {
	case n == 1:
		return c, nil
	case used != 0:
		return c, identity.ErrCodeReplayed
	}
	return identity.AuthCode{}, identity.ErrCodeExpired
}

// inTx runs f in a transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return db.unavailable(err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.unavailable(err)
	}
	return nil
}

// deleteRefreshTx deletes a refresh session and its rotated-out hashes.
func (db *DB) deleteRefreshTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := db.txExec(ctx, tx, `DELETE FROM oauth_refresh_sessions WHERE id = ?`, id); err != nil {
		return db.unavailable(err)
	}
	if _, err := db.txExec(ctx, tx, `DELETE FROM oauth_refresh_rotated WHERE session_id = ?`, id); err != nil {
		return db.unavailable(err)
	}
	return nil
}

// CreateRefreshSession implements identity.RefreshSessionStore. Its first
// statement writes (the eviction, or a no-op DELETE when under the cap), so
// that on SQLite the transaction takes the write lock at once rather than
// failing to upgrade a read lock.
func (db *DB) CreateRefreshSession(ctx context.Context, s identity.RefreshSession, maxPerUser int) (int, error) {
	evicted := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		evicted = 0
		if maxPerUser > 0 {
			ids, err := db.lruRefreshIDs(ctx, tx, s.UserEntityRef, maxPerUser)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := db.deleteRefreshTx(ctx, tx, id); err != nil {
					return err
				}
				evicted++
			}
		}
		res, err := db.txExec(ctx, tx, `INSERT INTO oauth_refresh_sessions (id, user_entity_ref, client_id, scope, resource, secret_hash, created_at, last_used_at, idle_expires_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			s.ID, s.UserEntityRef, s.ClientID, s.Scope, s.Resource, s.SecretHash, db.timeArg(s.Created), db.timeArg(s.LastUsed), db.timeArg(s.IdleExpires), db.timeArg(s.Expires))
		return db.inserted(res, err, "the refresh session")
	})
	if err != nil {
		return 0, err
	}
	return evicted, nil
}

// lruRefreshIDs lists the user's sessions that must go so that fewer than
// maxPerUser remain, least recently used first. On SQLite it first takes
// the write lock with a no-op write (see CreateRefreshSession).
func (db *DB) lruRefreshIDs(ctx context.Context, tx *sql.Tx, user string, maxPerUser int) ([]string, error) {
	if _, err := db.txExec(ctx, tx, `DELETE FROM oauth_refresh_sessions WHERE 1 = 0`); err != nil {
		return nil, db.unavailable(err)
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT id FROM oauth_refresh_sessions WHERE user_entity_ref = ? ORDER BY last_used_at, id`), user)
	if err != nil {
		return nil, db.unavailable(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.unavailable(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, db.unavailable(err)
	}
	if n := len(ids) - (maxPerUser - 1); n > 0 {
		return ids[:n], nil
	}
	return nil, nil
}

// refreshColumns are the columns scanRefresh reads, in its order.
const refreshColumns = `id, user_entity_ref, client_id, scope, resource, secret_hash, created_at, last_used_at, idle_expires_at, expires_at, prev_hash, prev_answer, prev_until`

// scanRefresh reads one row of refreshColumns; no row is NotFound.
func (db *DB) scanRefresh(row interface{ Scan(...any) error }, id string) (identity.RefreshSession, error) {
	var r identity.RefreshSession
	var created, used, idle, expires, prevUntil any
	err := row.Scan(&r.ID, &r.UserEntityRef, &r.ClientID, &r.Scope, &r.Resource, &r.SecretHash, &created, &used, &idle, &expires, &r.PrevHash, &r.PrevAnswer, &prevUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return r, autherr.NotFound("no refresh session %q", id)
	} else if err != nil {
		return r, db.unavailable(err)
	}
	r.Created, r.LastUsed, r.IdleExpires, r.Expires = db.timeOf(created), db.timeOf(used), db.timeOf(idle), db.timeOf(expires)
	r.PrevUntil = db.timeOf(prevUntil)
	return r, nil
}

// getRefresh reads a refresh session, within tx unless it is nil.
func (db *DB) getRefresh(ctx context.Context, tx *sql.Tx, id string) (identity.RefreshSession, error) {
	const q = `SELECT ` + refreshColumns + ` FROM oauth_refresh_sessions WHERE id = ?`
	if tx == nil {
		return db.scanRefresh(db.queryRow(ctx, q, id), id)
	}
	return db.scanRefresh(db.txQueryRow(ctx, tx, q, id), id)
}

// GetRefreshSession implements identity.RefreshSessionStore.
func (db *DB) GetRefreshSession(ctx context.Context, id string) (identity.RefreshSession, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	return db.getRefresh(ctx, nil, id)
}

// RotateRefreshSession implements identity.RefreshSessionStore: one
// transaction whose first statement is the conditional UPDATE, which
// returns the row it wrote. IdleExpires = min(now+idle, expires_at) is
// computed in SQL so that the row's own absolute end bounds it. A loser
// reads the row after its UPDATE matched nothing: on PostgreSQL the UPDATE
// waited for the winner's row lock, and READ COMMITTED's next statement
// sees the winner's prev_hash; SQLite serialises the two transactions.
func (db *DB) RotateRefreshSession(ctx context.Context, id, oldHash, newHash string, answer []byte, graceUntil, now time.Time, idle time.Duration) (identity.RefreshSession, error) {
	var out identity.RefreshSession
	var outcome error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		idleEnd, at := db.timeArg(now.Add(idle)), db.timeArg(now)
		var err error
		out, err = db.scanRefresh(db.txQueryRow(ctx, tx, `UPDATE oauth_refresh_sessions
SET secret_hash = ?, last_used_at = ?, idle_expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END,
    prev_hash = ?, prev_answer = ?, prev_until = ?
WHERE id = ? AND secret_hash = ? AND idle_expires_at > ? AND expires_at > ?
RETURNING `+refreshColumns,
			newHash, at, idleEnd, idleEnd, oldHash, answer, db.timeArg(graceUntil), id, oldHash, at, at), id)
		if err == nil {
			if _, err := db.txExec(ctx, tx, `INSERT INTO oauth_refresh_rotated (secret_hash, session_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, oldHash, id); err != nil {
				return db.unavailable(err)
			}
			return nil
		} else if !autherr.IsNotFound(err) {
			return err
		}
		out, outcome = db.rotationMissed(ctx, tx, id, oldHash, now)
		if errors.Is(outcome, identity.ErrRefreshGraceReplay) || errors.Is(outcome, identity.ErrRefreshReused) {
			return nil // an answer, not a failure: commit (reuse deleted the family)
		}
		return outcome
	})
	if err != nil {
		return identity.RefreshSession{}, err
	}
	return out, outcome
}

// rotationMissed tells, inside the rotation's transaction, why its UPDATE
// matched nothing: a grace replay (the stored session and
// ErrRefreshGraceReplay), reuse of a rotated-out hash (the session deleted,
// ErrRefreshReused), or NotFound (or the store's failure). Only reuse
// writes.
func (db *DB) rotationMissed(ctx context.Context, tx *sql.Tx, id, oldHash string, now time.Time) (identity.RefreshSession, error) {
	cur, err := db.getRefresh(ctx, tx, id)
	if err != nil {
		return identity.RefreshSession{}, err
	}
	if cur.PrevHash == oldHash && now.Before(cur.PrevUntil) && now.Before(cur.IdleExpires) && now.Before(cur.Expires) {
		return cur, identity.ErrRefreshGraceReplay
	}
	var k int
	if err := db.txQueryRow(ctx, tx, `SELECT COUNT(*) FROM oauth_refresh_rotated WHERE secret_hash = ? AND session_id = ?`, oldHash, id).Scan(&k); err != nil {
		return identity.RefreshSession{}, db.unavailable(err)
	}
	if k == 0 {
		return identity.RefreshSession{}, autherr.NotFound("invalid or expired refresh token")
	}
	if err := db.deleteRefreshTx(ctx, tx, id); err != nil {
		return identity.RefreshSession{}, err
	}
	return identity.RefreshSession{}, identity.ErrRefreshReused
}

// DeleteRefreshSession implements identity.RefreshSessionStore.
func (db *DB) DeleteRefreshSession(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.deleteRefreshTx(ctx, tx, id) })
}

// DeleteRefreshSessionsFor implements identity.RefreshSessionStore.
func (db *DB) DeleteRefreshSessionsFor(ctx context.Context, userEntityRef, clientID string) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, `DELETE FROM oauth_refresh_rotated WHERE session_id IN (SELECT id FROM oauth_refresh_sessions WHERE user_entity_ref = ? AND client_id = ?)`, userEntityRef, clientID); err != nil {
			return db.unavailable(err)
		}
		var err error
		if n, err = affected(db.txExec(ctx, tx, `DELETE FROM oauth_refresh_sessions WHERE user_entity_ref = ? AND client_id = ?`, userEntityRef, clientID)); err != nil {
			return db.unavailable(err)
		}
		return nil
	})
	return int(n), err
}

// DeleteExpired implements identity.OAuthStore; the count excludes the
// rotated-out hashes it drops with their sessions.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	t := db.timeArg(now)
	total := 0
	for _, st := range []struct {
		query string
		args  []any
	}{
		{`DELETE FROM oauth_clients WHERE expires_at <> ? AND expires_at <= ?`, []any{db.timeArg(time.Time{}), t}},
		{`DELETE FROM oauth_auth_sessions WHERE expires_at <= ?`, []any{t}},
		{`DELETE FROM oauth_auth_codes WHERE expires_at <= ?`, []any{t}},
		{`DELETE FROM oauth_refresh_sessions WHERE idle_expires_at <= ? OR expires_at <= ?`, []any{t, t}},
		{`DELETE FROM oauth_refresh_rotated WHERE session_id NOT IN (SELECT id FROM oauth_refresh_sessions)`, nil},
	} {
		n, err := affected(db.sql.ExecContext(ctx, db.q(st.query), st.args...))
		if err != nil {
			return total, db.unavailable(err)
		}
		if st.args != nil {
			total += int(n)
		}
	}
	return total, nil
}
