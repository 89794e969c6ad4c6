package oauth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

const cliID = testAuthBase + "/.well-known/oauth-client/cli.json"

func TestRefreshRotates(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	rt := h.tokens(grant{}, nil)["refresh_token"].(string)
	r := h.refresh(rt)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if keys := jsonKeys(t, r.Body); keys != "access_token token_type expires_in refresh_token" {
		t.Errorf("keys %q", keys)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Errorf("caching headers: %v", r.Header)
	}
	m := r.JSON(t)
	next := m["refresh_token"].(string)
	if next == rt || !strings.HasPrefix(next, strings.SplitN(rt, ".", 2)[0]+".") {
		t.Errorf("rotation: %q -> %q", rt, next)
	}
	if m["expires_in"] != h.issuer.Expiration().Seconds() || m["token_type"] != "Bearer" {
		t.Errorf("answer %v", m)
	}
	if r := h.refresh(next); r.Status != 200 {
		t.Errorf("the new token: %d %s", r.Status, r.Body)
	}
}

func TestRefreshGraceAndReuse(t *testing.T) {
	var logs testlog.Buffer
	h := newHarness(t, testConfig(), withLog(&logs))
	rt := h.tokens(grant{}, nil)["refresh_token"].(string)
	first := h.refresh(rt).JSON(t)
	// Inside the grace period: the same new refresh token, a fresh
	// access token.
	h.clock.Advance(DefaultRefreshGracePeriod - time.Second)
	again := h.refresh(rt)
	if again.Status != 200 {
		t.Fatalf("retry inside the grace: %d %s", again.Status, again.Body)
	}
	if m := again.JSON(t); m["refresh_token"] != first["refresh_token"] || m["access_token"] == first["access_token"] {
		t.Errorf("retry inside the grace: %v; first %v", m, first)
	}
	// After it: reuse revokes the family, the current token too.
	h.clock.Advance(2 * time.Second)
	wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "Invalid refresh token")
	wantOAuthError(t, h.refresh(first["refresh_token"].(string)), 400, "invalid_grant", "Invalid refresh token")
	log := logs.String()
	if !strings.Contains(log, "refresh token reuse detected; session family revoked") {
		t.Errorf("no reuse warning: %s", log)
	}
	for _, secret := range []string{rt, first["refresh_token"].(string), strings.SplitN(rt, ".", 2)[1]} {
		if strings.Contains(log, secret) {
			t.Errorf("a refresh token reached the log")
		}
	}
}

func TestRefreshConcurrentGetSameToken(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	rt := h.tokens(grant{}, nil)["refresh_token"].(string)
	const n = 6
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.refresh(rt)
			if r.Status == 200 {
				got[i] = r.JSON(t)["refresh_token"].(string)
			} else {
				got[i] = r.Body
			}
		}()
	}
	wg.Wait()
	for _, g := range got[1:] {
		if g != got[0] || !strings.Contains(g, ".") {
			t.Fatalf("concurrent refreshes answered %v; want one new token for all", got)
		}
	}
}

func TestRefreshKeepsResource(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	const res = "https://mcp.example.com/api"
	rt := h.tokens(grant{Resource: res}, nil)["refresh_token"].(string)
	r := h.refresh(rt)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if aud := audience(t, m["access_token"].(string)); aud != `["backstage","https://mcp.example.com/api"]` {
		t.Errorf("aud after refresh = %s", aud)
	}
	wantOAuthError(t, h.postJSON(tokenPath, map[string]any{"grant_type": "refresh_token", "refresh_token": m["refresh_token"], "resource": "https://other.example/"}),
		400, "invalid_target", "The resource does not match the authorization request")
}

func TestRefreshClientBinding(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	cimdRT := h.tokens(grant{}, nil)["refresh_token"].(string)
	wantOAuthError(t, h.postJSON(tokenPath, map[string]any{"grant_type": "refresh_token", "refresh_token": cimdRT, "client_id": cliID}),
		400, "invalid_grant", "Refresh token was not issued to this client")
	if r := h.postJSON(tokenPath, map[string]any{"grant_type": "refresh_token", "refresh_token": cimdRT, "client_id": testCIMDClient}); r.Status != 200 {
		t.Errorf("own client_id: %d %s", r.Status, r.Body)
	}

	id, secret := h.registerClient(nil)
	dcrRT := h.tokens(grant{ClientID: id}, nil, "Authorization", basic(id, secret))["refresh_token"].(string)
	r := h.refresh(dcrRT)
	wantOAuthError(t, r, 401, "invalid_client", "Client authentication required")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	wantOAuthError(t, h.refresh(dcrRT, "Authorization", basic(id, "wrong")), 401, "invalid_client", "Invalid client credentials")
	id2, secret2 := h.registerClient(nil)
	wantOAuthError(t, h.refresh(dcrRT, "Authorization", basic(id2, secret2)), 400, "invalid_grant", "Refresh token was not issued to this client")
	if r := h.refresh(dcrRT, "Authorization", basic(id, secret)); r.Status != 200 {
		t.Errorf("DCR refresh: %d %s", r.Status, r.Body)
	}
}

func TestRefreshCatalog(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	rt := h.tokens(grant{}, nil)["refresh_token"].(string)
	h.users.mu.Lock()
	h.users.err = errors.New("catalog down")
	h.users.mu.Unlock()
	wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "Unable to validate user existence")
	h.users.mu.Lock()
	h.users.err = nil
	h.users.mu.Unlock()
	// The session was kept, and the claim released: it works now.
	rt = h.refresh(rt).JSON(t)["refresh_token"].(string)
	h.users.mu.Lock()
	delete(h.users.present, testUser)
	h.users.mu.Unlock()
	wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "User entity no longer exists in the catalog")
	id, _, _ := splitRefreshToken(rt)
	if _, err := h.store.GetRefreshSession(context.Background(), id); err == nil {
		t.Error("the session of a missing user was kept")
	}
}

func TestRefreshExpiryAndDisabled(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	rt := h.tokens(grant{}, nil)["refresh_token"].(string)
	h.clock.Advance(testConfig().Refresh.IdleLifetime)
	wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "Invalid refresh token")

	cfg := testConfig()
	cfg.Refresh.Enabled = false
	off := newHarness(t, cfg, nil)
	m := off.tokens(grant{}, nil)
	if m["refresh_token"] != nil || m["scope"] != "openid" {
		t.Errorf("refresh tokens off: %v", m)
	}
	wantOAuthError(t, off.refresh("a.b"), 400, "invalid_request", "Refresh tokens are not enabled")
}

func TestRefreshSessionPerDevice(t *testing.T) {
	var logs testlog.Buffer
	cfg := testConfig()
	cfg.Refresh.MaxPerUser = 2
	h := newHarness(t, cfg, withLog(&logs))
	a := h.tokens(grant{ClientID: cliID}, nil)["refresh_token"].(string)
	h.clock.Advance(time.Second)
	b := h.tokens(grant{ClientID: cliID}, nil)["refresh_token"].(string)
	for _, rt := range []string{a, b} {
		if r := h.refresh(rt); r.Status != 200 {
			t.Errorf("a second device's login killed another's session: %d %s", r.Status, r.Body)
		}
	}
	h.clock.Advance(time.Second)
	h.tokens(grant{ClientID: cliID}, nil)
	if !strings.Contains(logs.String(), "refresh session evicted (per-user cap)") {
		t.Errorf("no eviction log: %s", logs.String())
	}
}

// TestRefreshGraceAnswerSealedElsewhere: a replica with another
// auth.session.secret cannot open the grace answer another rotated with;
// its retry is refused, and nothing is revoked for it.
func TestRefreshGraceAnswerSealedElsewhere(t *testing.T) {
	h1 := newHarness(t, testConfig(), nil)
	h2 := newHarness(t, testConfig(), func(o *Options) { o.Store, o.GraceSecret = h1.store, "another-session-secret" })
	rt := h1.tokens(grant{}, nil)["refresh_token"].(string)
	next := h1.refresh(rt)
	if next.Status != 200 {
		t.Fatalf("%d %s", next.Status, next.Body)
	}
	wantOAuthError(t, h2.refresh(rt), 400, "invalid_grant", "Invalid refresh token")
	if r := h1.refresh(next.JSON(t)["refresh_token"].(string)); r.Status != 200 {
		t.Errorf("the current token after the unopenable replay: %d %s", r.Status, r.Body)
	}
}
