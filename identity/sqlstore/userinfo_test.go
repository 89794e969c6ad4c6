package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
)

// TestPutUserInfoSkipLeavesRow: unchanged claims leave the row as it was
// (updated_at too); a row from before the claims_hash column is rewritten
// once, then skipped like any other.
func TestPutUserInfoSkipLeavesRow(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			sub := "user:default/alice"
			claims := map[string]any{"sub": sub, "ent": []string{sub}}
			put := func() bool {
				t.Helper()
				written, err := db.PutUserInfo(ctx, sub, claims)
				if err != nil {
					t.Fatal(err)
				}
				return written
			}
			if !put() {
				t.Fatal("first PutUserInfo wrote nothing")
			}
			before, hash, err := sqlstore.UserInfoRow(ctx, db, sub)
			if err != nil || !hash.Valid || len(hash.String) != 64 {
				t.Fatalf("row after the first write: hash %v, %v; want a SHA-256 in hex", hash, err)
			}
			time.Sleep(2 * time.Millisecond) // a rewrite would change updated_at
			if put() {
				t.Error("PutUserInfo of unchanged claims wrote")
			}
			if after, _, err := sqlstore.UserInfoRow(ctx, db, sub); err != nil || after != before {
				t.Errorf("updated_at %q → %q (%v); want unchanged", before, after, err)
			}
			if err := sqlstore.ClearUserInfoHash(ctx, db, sub); err != nil {
				t.Fatal(err)
			}
			if !put() {
				t.Error("a row without claims_hash was not rewritten")
			}
			if _, h, err := sqlstore.UserInfoRow(ctx, db, sub); err != nil || h != hash {
				t.Errorf("hash after rewrite %v (%v), want %v", h, err, hash)
			}
			if put() {
				t.Error("PutUserInfo after the rewrite wrote again")
			}
		})
	}
}

// TestPutUserInfoAfterOlderVersionWrote: during a rolling upgrade a replica
// on an older version rewrites the claims but not claims_hash; a newer
// replica issuing the claims the stale hash names must still write them.
func TestPutUserInfoAfterOlderVersionWrote(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			sub := "user:default/alice"
			mine := map[string]any{"sub": sub, "ent": []string{sub}, "team": "a"}
			if _, err := db.PutUserInfo(ctx, sub, mine); err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.WriteUserInfoAsBefore0006(ctx, db, sub, `{"ent":["user:default/alice"],"sub":"user:default/alice","team":"old"}`); err != nil {
				t.Fatal(err)
			}
			if written, err := db.PutUserInfo(ctx, sub, mine); err != nil || !written {
				t.Fatalf("PutUserInfo after an older version's write: written %v, %v; want a write", written, err)
			}
			if got, err := db.GetUserInfo(ctx, sub); err != nil || got["team"] != "a" {
				t.Errorf("GetUserInfo = %v, %v; want team a", got, err)
			}
		})
	}
}
