package oauth

import (
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
)

// TestReplicasOnPostgres: two servers sharing one PostgreSQL database (the
// OAuth store, which keeps the grace answers) redeem a code once between them, and
// answer concurrent refreshes of one token, split across both, with one
// new refresh token.
func TestReplicasOnPostgres(t *testing.T) {
	pgURL := pgtest.URL(t)
	open := func() *sqlstore.DB {
		return pgtest.OpenMigrated(t, sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgURL})
	}
	db1, db2 := open(), open()
	h1 := newHarness(t, testConfig(), func(o *Options) { o.Store = db1 })
	h2 := newHarness(t, testConfig(), func(o *Options) { o.Store = db2 })
	replicas := []*harness{h1, h2}

	code := h1.approvedCodeIn(db1, grant{})
	statuses := make([]int, 6)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = replicas[i%2].exchange(code, nil).Status
		}()
	}
	wg.Wait()
	if n := count(statuses, 200); n != 1 {
		t.Fatalf("code redemptions across replicas: %v; want exactly one 200", statuses)
	}

	r := h1.exchange(h1.approvedCodeIn(db1, grant{}), nil)
	rt := r.JSON(t)["refresh_token"].(string)
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := replicas[i%2].refresh(rt)
			got[i] = r.Body
			if r.Status == 200 {
				got[i] = r.JSON(t)["refresh_token"].(string)
			}
		}()
	}
	wg.Wait()
	for _, g := range got[1:] {
		if g != got[0] {
			t.Fatalf("concurrent refreshes across replicas: %v; want one new token", got)
		}
	}
	h1.clock.Advance(DefaultRefreshGracePeriod + 1)
	wantOAuthError(t, h1.refresh(rt), 400, "invalid_grant", "Invalid refresh token")
	wantOAuthError(t, h2.refresh(got[0]), 400, "invalid_grant", "Invalid refresh token")
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
