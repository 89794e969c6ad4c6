package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// UserInfoRow reads sub's user_info row as stored, for the tests that
// check a skipped write left it untouched.
func UserInfoRow(ctx context.Context, db *DB, sub string) (updatedAt string, hash sql.NullString, err error) {
	err = db.sql.QueryRowContext(ctx, db.q(`SELECT CAST(updated_at AS TEXT), claims_hash FROM user_info WHERE user_entity_ref = ?`), sub).Scan(&updatedAt, &hash)
	return updatedAt, hash, err
}

// ClearUserInfoHash makes sub's row look written before migration 0006.
func ClearUserInfoHash(ctx context.Context, db *DB, sub string) error {
	_, err := db.sql.ExecContext(ctx, db.q(`UPDATE user_info SET claims_hash = NULL WHERE user_entity_ref = ?`), sub)
	return err
}

// WriteUserInfoAsBefore0006 upserts sub's claims with the statement the
// versions before migration 0006 ran, which leaves claims_hash alone.
func WriteUserInfoAsBefore0006(ctx context.Context, db *DB, sub, body string) error {
	_, err := db.sql.ExecContext(ctx, db.q(`INSERT INTO user_info (user_entity_ref, user_info, updated_at) VALUES (?, ?, ?)
ON CONFLICT (user_entity_ref) DO UPDATE SET user_info = excluded.user_info, updated_at = excluded.updated_at`), sub, body, db.timeArg(time.Now()))
	return err
}
