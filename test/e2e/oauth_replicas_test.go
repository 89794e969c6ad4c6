package e2e

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
)

// openMigrated opens a database of client (sqlstore.ClientPostgres,
// ClientSQLite) at connection, migrated, closed when t ends: one replica's
// connection.
func openMigrated(t testing.TB, client, connection string) *sqlstore.DB {
	return pgtest.OpenMigrated(t, sqlstore.Config{Client: client, Connection: connection})
}

// newOAuthReplicas starts two in-process gateways with the authorization
// server on one PostgreSQL schema of their own, behind replica a's public
// URL (one issuer, one CLI client_id), and signs alice in on a. b
// verifies her token from the shared key store.
func newOAuthReplicas(t *testing.T) (a, b *harness, user string) {
	t.Helper()
	pgURL := pgtest.URL(t)
	a = newOAuthHarness(t, harnessOptions{db: openMigrated(t, sqlstore.ClientPostgres, pgURL)})
	b = newOAuthHarness(t, harnessOptions{db: openMigrated(t, sqlstore.ClientPostgres, pgURL), publicBase: a.base})
	if a.authBase() != b.authBase() {
		t.Fatalf("replicas advertise %s and %s", a.authBase(), b.authBase())
	}
	user = signInUser(t, a, "alice")
	waitForKid(t, b, user)
	return a, b, user
}

// TestOAuthTwoReplicas: every step of a login on another replica than the
// one before (issue 14: "any replica serving any step"), for the CLI and a
// DCR client: authorize on a, GET the session and approve on b, exchange
// on a, refresh on b, revoke on a.
func TestOAuthTwoReplicas(t *testing.T) {
	a, b, user := newOAuthReplicas(t)
	for _, c := range []oauthClient{a.cli(), b.register(t, "replicas", "http://127.0.0.1:5000/cb")} {
		ar := a.authorize(t, c, "openid offline_access")
		code := b.approve(t, ar, user)
		_, rt := a.tokenAnswer(t, "exchange on a", a.exchange(ar, code), true)
		_, rt = b.tokenAnswer(t, "refresh on b", b.refreshAs(c, rt), true)
		if r := a.revokeAs(c, rt); r.status != 200 {
			t.Fatalf("revoke on a: %d %s", r.status, r.body)
		}
		wantOAuthError(t, "refresh on b after revocation on a", b.refreshAs(c, rt), 400, "invalid_grant", "")
	}
}

// TestOAuthTwoReplicasCodeRace: one code redeemed at once on both
// replicas is redeemed exactly once.
func TestOAuthTwoReplicasCodeRace(t *testing.T) {
	a, b, user := newOAuthReplicas(t)
	const rounds, callers = 3, 6
	for round := range rounds {
		ar := a.authorize(t, a.cli(), "openid offline_access")
		code := b.approve(t, ar, user)
		answers := make([]oauthAnswer, callers)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range callers {
			h := []*harness{a, b}[i%2]
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				answers[i] = h.exchangeJSON(ar, code)
			}()
		}
		start.Done()
		done.Wait()
		var ok int
		for i, r := range answers {
			switch {
			case r.status == 200:
				ok++
			case r.status != 400 || r.str("error") != "invalid_grant":
				t.Errorf("round %d caller %d: %d %s", round, i, r.status, r.body)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of %d concurrent redemptions on two replicas succeeded, want exactly 1", round, ok, callers)
		}
	}
}

// TestOAuthTwoReplicasRefreshRace: one refresh token presented at once on
// both replicas rotates once; the other caller gets the grace replay (the
// same new refresh token) and nobody revokes the family.
func TestOAuthTwoReplicasRefreshRace(t *testing.T) {
	a, b, user := newOAuthReplicas(t)
	_, rt := a.grantTokens(t, a.cli(), user)
	const rounds = 5
	for round := range rounds {
		answers := make([]oauthAnswer, 2)
		var start, done sync.WaitGroup
		start.Add(1)
		for i, h := range []*harness{a, b} {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				answers[i] = h.refreshAs(h.cli(), rt)
			}()
		}
		start.Done()
		done.Wait()
		_, rtA := a.tokenAnswer(t, fmt.Sprintf("round %d on a", round), answers[0], true)
		_, rtB := b.tokenAnswer(t, fmt.Sprintf("round %d on b", round), answers[1], true)
		if rtA != rtB {
			t.Fatalf("round %d: the replicas answered different refresh tokens (%d rotations): the loser must get the winner's", round, 2)
		}
		rt = rtA
	}
	// The family lives on.
	a.tokenAnswer(t, "after the races", a.refreshAs(a.cli(), rt), true)
}

// TestOAuthOddInputsPostgres: bytes PostgreSQL refuses in TEXT (NUL,
// invalid UTF-8) in every identifier a client sends are a client's
// mistake (4xx) or nothing to revoke (200), never a 500: a handler must
// refuse them before they reach the database.
func TestOAuthOddInputsPostgres(t *testing.T) {
	h, _, user := newOAuthReplicas(t)
	dcr := h.register(t, "odd", "http://127.0.0.1:5000/cb")
	for _, odd := range []string{"a\x00b", "\xff\xfe", "8b0c5c0e-2d53-4d5b-9a39-5b0c2f8d9e11\x00"} {
		name := fmt.Sprintf("%q", odd)
		checks := map[string]oauthAnswer{
			"code": h.postForm("/v1/token", url.Values{"grant_type": {"authorization_code"}, "code": {odd},
				"redirect_uri": {cliRedirectURI}, "code_verifier": {newPKCE().verifier}}, nil),
			"refresh token id":     h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {odd + "." + randomB64(32)}}, nil),
			"refresh token secret": h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"8b0c5c0e-2d53-4d5b-9a39-5b0c2f8d9e11." + odd}}, nil),
			"token client_id":      h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "client_id": {odd}, "client_secret": {"s"}}, nil),
			"Basic client id":      h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}}, &oauthClient{id: odd, secret: "s"}),
			"DCR secret":           h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}}, &oauthClient{id: dcr.id, secret: odd}),
			"revoked token":        h.postForm("/v1/revoke", url.Values{"token": {odd + "." + odd}}, &dcr),
			"revoking client":      h.postForm("/v1/revoke", url.Values{"token": {"x.y"}, "client_id": {odd}}, nil),
			"session id":           h.oauthDo("GET", "/v1/sessions/"+url.PathEscape(odd), nil, nil),
			"approved session id":  h.decide(odd, "approve", user),
			"authorize client_id":  h.authorizeRaw(authorizeQuery(oauthClient{id: odd, redirectURI: cliRedirectURI}, newPKCE(), "openid", "s")),
			"authorize state":      h.authorizeRaw(authorizeQuery(h.cli(), newPKCE(), "openid", odd)),
			"registered name":      h.postForm("/v1/register", url.Values{"client_name": {odd}, "redirect_uris": {"http://127.0.0.1:5000/cb"}}, nil),
		}
		for what, a := range checks {
			if a.status >= 500 {
				t.Errorf("%s %s: %d %s", what, name, a.status, a.body)
			}
		}
	}
}
