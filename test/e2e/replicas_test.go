package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// replicaConfig is the app-config both replicas share but for the port:
// one PostgreSQL, one session secret, one public base URL (replica 1's, as
// a load balancer's would be), and the IdP callback routed to replica 2.
func replicaConfig(t *testing.T, dir, pgURL, metadata, callback, base string, port int, extra string) string {
	t.Helper()
	catPath := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catPath, []byte(testCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
app: {baseUrl: %s}
backend:
  baseUrl: %s
  listen: {host: 127.0.0.1, port: %d}
  database:
    client: pg
    connection: '%s'
    startupTimeout: {seconds: 20}
gatehouse: {metrics: {enabled: false}}
auth:
  session: {secret: %s}
  providers:
    vcfsso:
      development:
        metadataUrl: %s
        clientId: %s
        clientSecret: %s
        callbackUrl: %s
        prompt: auto
        additionalScopes: [offline_access]
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: preferredUsernameMatchingUserEntityName
catalog:
  locations:
    - {type: file, target: %s}
%s`, appOrigin, base, port, pgURL, testSessionKey, metadata, testClientID, testClientSecret, callback, catPath, extra)
	f := filepath.Join(dir, fmt.Sprintf("app-config-%d.yaml", port))
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startServe runs `gatehouse serve --config f` in this process until the
// test ends, and waits for its /readyz.
func startServe(t *testing.T, f, base string, logs io.Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", f}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve %s exited with %d", f, code)
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not ready in 30s", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTwoReplicas runs two `gatehouse serve` on one PostgreSQL schema:
// sign-ins start on replica 1 and finish on replica 2, refresh on replica
// 1, and each replica verifies and answers /v1/userinfo for the other's
// tokens.
func TestTwoReplicas(t *testing.T) {
	pgURL := pgtest.URL(t)
	p1, p2 := freePort(t), freePort(t)
	r1, r2 := fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)
	callback := r2 + "/api/auth/vcfsso/handler/frame"
	idp := startVCFIdP(t, callback)
	h1, h2 := startReplicaPair(t, pgURL, idp.Issuer()+"/", callback, p1, p2)

	const signIns = 6
	var crossVerified, userInfos, refreshes int
	for i := range signIns {
		user, ref := "alice", "user:default/alice"
		if i%2 == 1 {
			user, ref = "bob", "user:default/bob"
		}
		b := newBrowser(t)
		// Start on replica 1; the IdP sends the browser back to replica 2.
		resp, body := b.loginVia(h1, "vcfsso", startQuery("development"), user, user+"-test-password", "login")
		if got := resp.Request.URL.Host; got != fmt.Sprintf("127.0.0.1:%d", p2) {
			t.Fatalf("sign-in finished on %s, want replica 2", got)
		}
		msg := popupMessage(t, resp, body)
		r, ok := msg["response"].(map[string]any)
		if !ok {
			t.Fatalf("sign-in %d: %v", i, msg)
		}
		tok2 := r["backstageIdentity"].(map[string]any)["token"].(string)
		// A replica-2 token verifies with replica 1's JWKS, and the other way.
		waitForKid(t, h1, tok2)
		h1.verifyToken(tok2, identity.TypeUser)
		crossVerified++
		if code, claims := userInfo(t, r1, tok2); code != 200 || subOf(claims) != ref {
			t.Fatalf("replica 1 /v1/userinfo for a replica-2 token: %d %v", code, claims)
		}
		userInfos++
		// Refresh on replica 1, with the cookie replica 2 set.
		rresp, ref1 := b.refresh(h1, "development")
		if rresp.StatusCode != 200 {
			t.Fatalf("refresh on replica 1: %d %v", rresp.StatusCode, ref1)
		}
		refreshes++
		ent := []string{ref}
		if user == "alice" {
			ent = append(ent, "group:default/team-a")
		}
		tok1 := h1.identityOf(ref1, ref, ent...)
		waitForKid(t, h2, tok1)
		h2.verifyToken(tok1, identity.TypeUser)
		crossVerified++
		if code, claims := userInfo(t, r2, tok1); code != 200 || subOf(claims) != ref {
			t.Fatalf("replica 2 /v1/userinfo for a replica-1 token: %d %v", code, claims)
		}
		userInfos++
	}
	// Each replica minted one key; both publish both.
	if n1, n2 := len(h1.jwks().Keys), len(h2.jwks().Keys); n1 != 2 || n2 != 2 {
		t.Errorf("JWKS sizes %d and %d, want 2 keys (one per replica) on each", n1, n2)
	}
	t.Logf("two replicas: %d sign-ins (started on 1, finished on 2), %d refreshes on 1, %d cross-replica token verifications, %d cross-replica /v1/userinfo answers", signIns, refreshes, crossVerified, userInfos)
}

// startReplicaPair runs two `gatehouse serve` on one PostgreSQL schema,
// listening on ports p1 and p2, with one config but for the port
// (replicaConfig: replica 1's base URL is the public one, the IdP calls
// back to callback). Both start at once: the migrations take turns on the
// advisory lock. Their shared log is checked for secrets when t ends.
func startReplicaPair(t *testing.T, pgURL, metadata, callback string, p1, p2 int) (h1, h2 *harness) {
	t.Helper()
	r1, r2 := fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)
	dir := t.TempDir()
	logs := &testlog.Buffer{}
	var wg sync.WaitGroup
	for _, r := range []struct {
		base string
		port int
	}{{r1, p1}, {r2, p2}} {
		f := replicaConfig(t, dir, pgURL, metadata, callback, r1, r.port, "")
		wg.Add(1)
		go func() { defer wg.Done(); startServe(t, f, r.base, logs) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() { assertLogsClean(t, logs) })
	return &harness{t: t, base: r1, logs: logs}, &harness{t: t, base: r2, logs: logs}
}

func userInfo(t *testing.T, base, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/auth/v1/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &m)
	if resp.StatusCode != 200 {
		t.Logf("userinfo %s: %s", base, strings.TrimSpace(string(body)))
	}
	return resp.StatusCode, m
}

// subOf is the sub of a /v1/userinfo answer ({"claims": {...}}).
func subOf(answer map[string]any) any {
	c, _ := answer["claims"].(map[string]any)
	return c["sub"]
}

// assertLogsClean checks the servers' logs hold no secret and no token.
func assertLogsClean(t *testing.T, logs *testlog.Buffer) {
	s := logs.String()
	for _, secret := range []string{testClientSecret, testSessionKey, "-test-password", "eyJ"} {
		if strings.Contains(s, secret) {
			t.Errorf("a server logged a secret or token (%q):\n%s", secret, s)
		}
	}
}

// waitForKid waits until h's JWKS lists the key that signed token, as a
// Backstage backend refetches the JWKS on an unknown kid: a key another
// replica has just minted shows within the JWKS cache time (1 s).
func waitForKid(t *testing.T, h *harness, token string) {
	t.Helper()
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var kid struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(hdr, &kid)
	deadline := time.Now().Add(3 * time.Second)
	for {
		set := h.jwks()
		if len(set.Key(kid.Kid)) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kid %s did not show in %s's JWKS within 3s", kid.Kid, h.base)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
