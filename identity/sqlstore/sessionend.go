package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
)

var _ identity.SessionEndStore = (*DB)(nil)

// EndSessions implements identity.SessionEndStore: one row per record, so
// every replica on this database refuses the sessions it matches.
func (db *DB) EndSessions(ctx context.Context, e identity.SessionEnd) error {
	if err := e.Validate(); err != nil {
		return err
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	_, err := db.exec(ctx, `INSERT INTO session_ends (provider, sub, sid, user_entity_ref, ended_before, reason, source) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Provider, e.Sub, e.SID, strings.ToLower(e.UserEntityRef), db.timeArg(e.Before), e.Reason, e.Source)
	if err != nil {
		return db.unavailable(err)
	}
	return nil
}

// Ended implements identity.SessionEndStore with one indexed query; an
// empty column in a record matches any value, as identity.SessionEnd says.
func (db *DB) Ended(ctx context.Context, s identity.Session) (bool, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM session_ends
WHERE (provider = '' OR provider = ?)
  AND (sub = '' OR sub = ?)
  AND (sid = '' OR sid = ?)
  AND (user_entity_ref = '' OR user_entity_ref = ?)
  AND ended_before > ?`,
		s.Provider, s.Sub, s.SID, strings.ToLower(s.UserEntityRef), db.timeArg(s.Started)).Scan(&n)
	if err != nil {
		return false, db.unavailable(err)
	}
	return n > 0, nil
}

// List implements identity.SessionEndStore.
func (db *DB) List(ctx context.Context, f identity.SessionEndFilter) ([]identity.SessionEnd, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT provider, sub, sid, user_entity_ref, ended_before, reason, source FROM session_ends
WHERE (? = '' OR user_entity_ref = ?) AND (? = '' OR sub = ?)
ORDER BY ended_before, id`),
		strings.ToLower(f.UserEntityRef), strings.ToLower(f.UserEntityRef), f.Sub, f.Sub)
	if err != nil {
		return nil, db.unavailable(err)
	}
	defer rows.Close()
	var out []identity.SessionEnd
	for rows.Next() {
		var e identity.SessionEnd
		if db.pg {
			err = rows.Scan(&e.Provider, &e.Sub, &e.SID, &e.UserEntityRef, &e.Before, &e.Reason, &e.Source)
		} else {
			var us int64
			err = rows.Scan(&e.Provider, &e.Sub, &e.SID, &e.UserEntityRef, &us, &e.Reason, &e.Source)
			e.Before = time.UnixMicro(us).UTC()
		}
		if err != nil {
			return nil, db.unavailable(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, db.unavailable(err)
	}
	return out, nil
}
