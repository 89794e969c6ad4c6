// Package storetest is the conformance suite every identity store (KeyStore,
// UserInfoStore, RefreshGraceStore, SessionEndStore, OAuthStore) must pass, in the style of Dex's storage tests:
// one suite, run once per implementation. Package identity's tests run it
// against the memory stores; identity/sqlstore's against SQLite (in memory
// and on file) and PostgreSQL (the server GATEHOUSE_TEST_POSTGRES_URL
// names; skipped without it unless GATEHOUSE_REQUIRE names postgres).
package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// RunKeyStore runs the key store cases. open must return an empty store.
func RunKeyStore(t *testing.T, open func(t *testing.T) identity.KeyStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	jwk := func(kid string) []byte {
		return []byte(`{"kty":"EC","crv":"P-256","kid":"` + kid + `","x":"x","y":"y","alg":"ES256"}`)
	}

	t.Run("AddListByAge", func(t *testing.T) {
		s := open(t)
		if keys, err := s.ListKeys(ctx); err != nil || len(keys) != 0 {
			t.Fatalf("new store: got %v, %v; want empty", keys, err)
		}
		// Added out of order: the list must still be oldest first.
		for _, k := range []struct {
			kid string
			age time.Duration
		}{{"b", 2 * time.Minute}, {"a", 1 * time.Minute}, {"c", 3 * time.Minute}} {
			if err := s.AddKey(ctx, identity.PublicKey{KID: k.kid, JWK: jwk(k.kid), CreatedAt: base.Add(k.age)}); err != nil {
				t.Fatalf("AddKey(%s): %v", k.kid, err)
			}
		}
		keys, err := s.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range keys {
			kids = append(kids, k.KID)
			if string(k.JWK) != string(jwk(k.KID)) {
				t.Errorf("key %s: JWK %s, want %s", k.KID, k.JWK, jwk(k.KID))
			}
		}
		if !slices.Equal(kids, []string{"a", "b", "c"}) {
			t.Errorf("ListKeys order = %v, want [a b c]", kids)
		}
		if !keys[0].CreatedAt.Equal(base.Add(time.Minute)) {
			t.Errorf("CreatedAt = %v, want %v", keys[0].CreatedAt, base.Add(time.Minute))
		}
	})

	t.Run("DuplicateKID", func(t *testing.T) {
		s := open(t)
		k := identity.PublicKey{KID: "dup", JWK: jwk("dup"), CreatedAt: base}
		if err := s.AddKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.AddKey(ctx, k); !autherr.Is(err, autherr.NameConflict) {
			t.Errorf("second AddKey: %v, want a ConflictError", err)
		}
	})

	t.Run("ExpiryCleanup", func(t *testing.T) {
		s := open(t)
		for i, kid := range []string{"old1", "old2", "new"} {
			if err := s.AddKey(ctx, identity.PublicKey{KID: kid, JWK: jwk(kid), CreatedAt: base.Add(time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RemoveKeys(ctx, []string{"old1", "old2", "never-existed"}); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0].KID != "new" {
			t.Errorf("after RemoveKeys: %v, want only new", keys)
		}
		if err := s.RemoveKeys(ctx, nil); err != nil {
			t.Errorf("RemoveKeys(nil): %v", err)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		s := open(t)
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					kid := fmt.Sprintf("w%d-%d", w, i)
					if err := s.AddKey(ctx, identity.PublicKey{KID: kid, JWK: jwk(kid), CreatedAt: base.Add(time.Duration(w*each+i) * time.Second)}); err != nil {
						errs <- err
					}
					if _, err := s.ListKeys(ctx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		keys, err := s.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != writers*each {
			t.Errorf("got %d keys, want %d", len(keys), writers*each)
		}
	})
}

// RunUserInfoStore runs the user info cases. open must return an empty store.
func RunUserInfoStore(t *testing.T, open func(t *testing.T) identity.UserInfoStore) {
	ctx := context.Background()

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.GetUserInfo(ctx, "user:default/nobody")
		if !autherr.IsNotFound(err) || err.Error() != "User info not found" {
			t.Errorf("GetUserInfo(unknown) = %v, want NotFoundError User info not found", err)
		}
	})

	t.Run("UpsertAndRead", func(t *testing.T) {
		s := open(t)
		sub := "user:default/alice"
		first := map[string]any{"sub": sub, "ent": []string{sub, "group:default/team-a"}, "team": "a"}
		if _, err := s.PutUserInfo(ctx, sub, first); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetUserInfo(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if got["sub"] != sub || got["team"] != "a" || fmt.Sprint(got["ent"]) != "[user:default/alice group:default/team-a]" {
			t.Errorf("GetUserInfo = %v", got)
		}
		second := map[string]any{"sub": sub, "ent": []string{sub}}
		if _, err := s.PutUserInfo(ctx, sub, second); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetUserInfo(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["team"]; ok || fmt.Sprint(got["ent"]) != "[user:default/alice]" {
			t.Errorf("after upsert: %v, want the second claims only", got)
		}
	})

	t.Run("ConcurrentUpserts", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub := fmt.Sprintf("user:default/u%d", w%3)
				for range 10 {
					if _, err := s.PutUserInfo(ctx, sub, map[string]any{"sub": sub, "ent": []string{sub}}); err != nil {
						t.Error(err)
					}
					if _, err := s.GetUserInfo(ctx, sub); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
	})

	t.Run("UnchangedNotWritten", func(t *testing.T) {
		s := open(t)
		sub := "user:default/alice"
		put := func(claims map[string]any) bool {
			t.Helper()
			written, err := s.PutUserInfo(ctx, sub, claims)
			if err != nil {
				t.Fatal(err)
			}
			return written
		}
		if !put(map[string]any{"sub": sub, "ent": []string{sub}, "team": "a"}) {
			t.Error("first PutUserInfo wrote nothing")
		}
		// Equal claims in a new map, built in another order: no write.
		same := map[string]any{"team": "a"}
		same["ent"] = []any{sub}
		same["sub"] = sub
		if put(same) {
			t.Error("PutUserInfo of unchanged claims wrote")
		}
		if !put(map[string]any{"sub": sub, "ent": []string{sub}, "team": "b"}) {
			t.Error("PutUserInfo of changed claims wrote nothing")
		}
		if got, err := s.GetUserInfo(ctx, sub); err != nil || got["team"] != "b" {
			t.Errorf("after change: %v, %v; want team b", got, err)
		}
	})

	// Two replicas (two Issuers) share the store and alternate claims for
	// one user, as replicas with different catalog views would: whatever
	// either remembers, /v1/userinfo answers the last token's claims.
	t.Run("ReplicasAlternate", func(t *testing.T) {
		s := open(t)
		keys := identity.NewMemoryKeyStore() // each verifies the other's tokens
		var replicas [2]*identity.Issuer
		for r := range replicas {
			iss, err := identity.NewIssuer(identity.Options{Issuer: "https://backstage.example.com/api/auth", Keys: keys, UserInfo: s})
			if err != nil {
				t.Fatal(err)
			}
			replicas[r] = iss
		}
		sub := "user:default/alice"
		for n, team := range []string{"a", "b", "a", "a", "b", "b", "a"} {
			iss := replicas[n%2]
			tok, err := iss.IssueToken(ctx, identity.Claims{Sub: sub, Extra: map[string]any{"team": team}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := replicas[(n+1)%2].UserInfo(ctx, tok.Token)
			if err != nil {
				t.Fatal(err)
			}
			if got["team"] != team {
				t.Fatalf("issuance %d (replica %d, team %s): /v1/userinfo says team %v", n, n%2, team, got["team"])
			}
		}
	})
}
