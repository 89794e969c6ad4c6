package sqlstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
)

// TestRefreshGraceStoreConformance runs the SQL stores (SQLite in memory and
// on file, PostgreSQL) through the refresh grace suite.
func TestRefreshGraceStoreConformance(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			storetest.RunRefreshGraceStore(t, func(t *testing.T) identity.RefreshGraceStore { return open(t) })
		})
	}
}

// BenchmarkRefreshGrace is what the grace records add to a /refresh on
// each database: leader is what a lone refresh of a rotating token adds
// around its IdP call (claim, record); replay is what a refresh pays
// instead of the IdP call when the answer is recorded (lost claim, lookup).
func BenchmarkRefreshGrace(b *testing.B) {
	forBenchBackends(b, func(b *testing.B, db *sqlstore.DB) {
		ctx := context.Background()
		answer := make([]byte, 1200) // a sealed CSP answer's size
		b.Run("leader", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				key, now := "lead-"+strconv.Itoa(i), time.Now()
				if won, err := db.ClaimRefresh(ctx, key, now, now.Add(30*time.Second)); err != nil || !won {
					b.Fatal(won, err)
				}
				if err := db.PutRefresh(ctx, key, answer, now.Add(30*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
		})
		if err := db.PutRefresh(ctx, "hit", answer, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.Run("replay", func(b *testing.B) {
			for b.Loop() {
				now := time.Now()
				if won, err := db.ClaimRefresh(ctx, "hit", now, now.Add(30*time.Second)); err != nil || won {
					b.Fatal(won, err)
				}
				if a, live, err := db.GetRefresh(ctx, "hit", now); err != nil || !live || len(a) != len(answer) {
					b.Fatal(live, err)
				}
			}
		})
	})
}
