package sqlstore

import (
	"context"
	"database/sql"
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
