package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// TestRotationThroughDatabase: with the minimum token expiry, two issuers
// (replicas) sharing one database rotate their keys; an old token keeps
// verifying on both inside its lifetime, stops when it expires, and keys
// older than three lifetimes leave the JWKS and the table.
func TestRotationThroughDatabase(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			mk := func() *identity.Issuer {
				iss, err := identity.NewIssuer(identity.Options{Issuer: "http://gh/api/auth", Expiration: time.Second, Keys: db, UserInfo: db, Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				return iss
			}
			a, b := mk(), mk()
			if a.Expiration() != identity.MinExpiration {
				t.Fatalf("expiry %v, want the minimum %v", a.Expiration(), identity.MinExpiration)
			}
			life := a.Expiration()
			old, err := a.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
			if err != nil {
				t.Fatal(err)
			}
			kidOf := func(tok string) string { return strings.SplitN(tok, ".", 2)[0] }
			now = now.Add(life - time.Second) // still inside the old token's life
			if _, err := b.VerifyUserToken(ctx, old.Token); err != nil {
				t.Fatalf("replica b rejects a's fresh token: %v", err)
			}
			now = now.Add(2 * time.Second) // a's key is one lifetime old: rotate
			fresh, err := a.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
			if err != nil {
				t.Fatal(err)
			}
			if kidOf(fresh.Token) == kidOf(old.Token) {
				t.Fatal("the key did not rotate after one lifetime")
			}
			keys, _ := db.ListKeys(ctx)
			if len(keys) != 2 {
				t.Fatalf("%d keys stored, want 2", len(keys))
			}
			// The old token expired at iat+life, which has just passed.
			if _, err := b.VerifyUserToken(ctx, old.Token); !autherr.Is(err, autherr.NameAuthentication) || !strings.Contains(err.Error(), "expired") {
				t.Errorf("old token after its expiry: %v, want expired", err)
			}
			if _, err := b.VerifyUserToken(ctx, fresh.Token); err != nil {
				t.Errorf("fresh token: %v", err)
			}
			// Three lifetimes after the first key was made it leaves the
			// JWKS and the table; the second stays.
			now = now.Add(2*life + 2*time.Second)
			if _, err := b.JWKS(ctx); err != nil {
				t.Fatal(err)
			}
			keys, _ = db.ListKeys(ctx)
			if len(keys) != 1 {
				t.Errorf("%d keys stored after the window, want 1", len(keys))
			}
		})
	}
}
