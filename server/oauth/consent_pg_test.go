package oauth

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
)

// TestConsentAcrossReplicasPostgres: two replicas on one PostgreSQL
// database; the session made on one is decided on either, exactly once,
// however many approvals race, and the one code is in the database.
func TestConsentAcrossReplicasPostgres(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := newHarness(t, testConfig(), func(o *Options) { o.Store = db })
	b := newHarness(t, testConfig(), func(o *Options) { o.Store, o.Tokens = db, a.issuer })
	id := a.startSession(cimdQuery())
	tok := a.userToken(testUser)
	const n = 8
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = []*harness{a, b}[i%2].decide(id, "approve", bearer(tok)...) })
	}
	wg.Wait()
	var codes []string
	for _, r := range results {
		if r.Status != 200 {
			wantOAuthError(t, r, 400, CodeInvalidRequest, "Authorization session not found or expired")
			continue
		}
		u, err := url.Parse(r.JSON(t)["redirectUrl"].(string))
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, u.Query().Get("code"))
	}
	if len(codes) != 1 {
		t.Fatalf("%d approvals succeeded, want 1", len(codes))
	}
	c, err := db.RedeemCode(context.Background(), identity.HashSecret(codes[0]), a.clock.Now())
	if err != nil || c.SessionID != id || c.UserEntityRef != testUser || c.ClientID != testCIMDClient {
		t.Errorf("code %+v, %v", c, err)
	}
	wantOAuthError(t, b.do("GET", "/api/auth/v1/sessions/"+id, "", ""), 400, CodeInvalidRequest, "Authorization session not found or expired")
}
