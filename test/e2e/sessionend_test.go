package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

// signedIn signs user in through h (the IdP sends the browser to the
// configured callback) and checks that a refresh on at works.
func signedIn(t *testing.T, h, at *harness, user string) *browser {
	t.Helper()
	b := newBrowser(t)
	resp, body := b.loginVia(h, "vcfsso", startQuery("development"), user, user+"-test-password", "login")
	if msg := popupMessage(t, resp, body); msg["response"] == nil {
		t.Fatalf("sign-in of %s: %v", user, msg)
	}
	if resp, m := b.refresh(at, "development"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh of %s's live session: %d %v", user, resp.StatusCode, m)
	}
	return b
}

// refusedAsEnded checks that b's next refresh on h fails with 401 as an
// ended session and that the browser no longer holds the refresh cookie.
func refusedAsEnded(t *testing.T, b *browser, h *harness, who string) {
	t.Helper()
	resp, m := b.refresh(h, "development")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(m), "The session has ended") {
		t.Fatalf("refresh of %s's ended session: %d %v", who, resp.StatusCode, m)
	}
	if c := b.cookie(h, "vcfsso-refresh-token"); c != "" {
		t.Errorf("%s's refresh cookie survived the refusal", who)
	}
	if c := b.cookie(h, "vcfsso-session"); c != "" {
		t.Errorf("%s's session cookie survived the refusal", who)
	}
}

// TestBackchannelLogoutAcrossReplicas: two `gatehouse serve` on one
// PostgreSQL. The dev IdP sends alice's logout token to replica 1; her
// session, signed in and refreshed on replica 2, is refused there at the
// next refresh, while bob's session goes on.
func TestBackchannelLogoutAcrossReplicas(t *testing.T) {
	pgURL := pgtest.URL(t)
	p1, p2 := freePort(t), freePort(t)
	r1, r2 := fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)
	callback := r2 + "/api/auth/vcfsso/handler/frame"
	idp := startVCFIdP(t, callback, func(c *devidp.Client) {
		c.BackchannelLogoutURI = r1 + "/api/auth/vcfsso/backchannel-logout?env=development"
	})
	h1, h2 := startReplicaPair(t, pgURL, idp.Issuer()+"/", callback, p1, p2)

	alice := signedIn(t, h1, h2, "alice")
	bob := signedIn(t, h1, h2, "bob")
	if alice.cookie(h2, "vcfsso-session") == "" {
		t.Fatal("no vcfsso-session cookie after sign-in")
	}
	if err := idp.BackchannelLogout(context.Background(), testClientID, "alice"); err != nil {
		t.Fatalf("back-channel logout to replica 1: %v", err)
	}
	refusedAsEnded(t, alice, h2, "alice")
	if resp, m := bob.refresh(h2, "development"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's refresh after alice's logout: %d %v", resp.StatusCode, m)
	}
	// A forged token is refused with the spec's error.
	resp, body := newBrowser(t).do("POST", r1+"/api/auth/vcfsso/backchannel-logout?env=development", map[string][]string{"logout_token": {"a.b.c"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"error":"invalid_request"`)) {
		t.Errorf("forged logout token: %d %s", resp.StatusCode, body)
	}
}

// TestSessionsRevokeCommand: `gatehouse sessions revoke` (the real binary)
// ends alice's session on a serving replica, and `sessions list` shows it.
func TestSessionsRevokeCommand(t *testing.T) {
	pgURL := pgtest.URL(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	callback := base + "/api/auth/vcfsso/handler/frame"
	idp := startVCFIdP(t, callback)
	logs := &testlog.Buffer{}
	f := replicaConfig(t, t.TempDir(), pgURL, idp.Issuer()+"/", callback, base, port, "")
	startServe(t, f, base, logs)
	h := &harness{t: t, base: base, logs: logs}
	t.Cleanup(func() { assertLogsClean(t, logs) })

	alice := signedIn(t, h, h, "alice")
	bob := signedIn(t, h, h, "bob")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"sessions", "revoke", "--config", f, "--user", "user:default/alice", "--provider", "vcfsso"}, &out, &errb); code != 0 {
		t.Fatalf("sessions revoke: exit %d\n%s%s", code, out.String(), errb.String())
	}
	refusedAsEnded(t, alice, h, "alice")
	if resp, m := bob.refresh(h, "development"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's refresh after alice's revocation: %d %v", resp.StatusCode, m)
	}
	out.Reset()
	if code := run(context.Background(), []string{"sessions", "list", "--config", f, "--user", "user:default/alice"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "operator") || !strings.Contains(out.String(), "vcfsso") {
		t.Fatalf("sessions list: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// TestSignOutAtIdPEndsSession is the demo's path: the user signs out at the
// dev IdP's end_session_endpoint (in the same browser, with no
// id_token_hint); the IdP posts a logout token to Gatehouse's back-channel
// logout route, and the next refresh of that user's session is refused.
func TestSignOutAtIdPEndsSession(t *testing.T) {
	pgURL := pgtest.URL(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	callback := base + "/api/auth/vcfsso/handler/frame"
	idp := startVCFIdP(t, callback, func(c *devidp.Client) {
		c.BackchannelLogoutURI = base + "/api/auth/vcfsso/backchannel-logout?env=development"
	})
	logs := &testlog.Buffer{}
	f := replicaConfig(t, t.TempDir(), pgURL, idp.Issuer()+"/", callback, base, port, "")
	startServe(t, f, base, logs)
	h := &harness{t: t, base: base, logs: logs}
	t.Cleanup(func() { assertLogsClean(t, logs) })

	alice := signedIn(t, h, h, "alice")
	bob := signedIn(t, h, h, "bob")
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	resp, body := alice.do("GET", idp.Issuer()+"/.well-known/openid-configuration", nil, nil)
	if err := json.Unmarshal(body, &meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	if resp, body := alice.do("GET", meta.EndSession, nil, nil); resp.StatusCode >= 400 {
		t.Fatalf("end_session: %d %s", resp.StatusCode, body)
	}
	refusedAsEnded(t, alice, h, "alice")
	if resp, m := bob.refresh(h, "development"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's refresh after alice signed out at the IdP: %d %v", resp.StatusCode, m)
	}
}
