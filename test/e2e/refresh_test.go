package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/server"
)

// These tests are issue 13's "parallel tabs": the dev IdP's CSP console
// rotates refresh tokens (each is accepted once), as the IdPs behind
// backstage#31266 and #12917 do. Ten tabs refreshing one session at once
// must all stay signed in, with one IdP call.

// refreshGrants counts the refresh_token grants Gatehouse sends to IdP
// token endpoints: the IdP calls a burst of refreshes makes.
type refreshGrants struct{ n atomic.Int32 }

func (c *refreshGrants) client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && metrics.EndpointOf(r.URL.Path) == "token" && r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == "refresh_token" {
				c.n.Add(1)
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

const cspProvider = "vmwareCloudServices"

// tab is one browser tab's /refresh: the session's refresh cookie, as the
// browser holds it, sent to base.
type tabResult struct {
	status int
	cookie string // the refresh cookie the answer set ("" when none)
	token  string // backstageIdentity.token
}

func refreshTab(t *testing.T, base, cookie string) tabResult {
	req, _ := http.NewRequest("GET", base+"/api/auth/"+cspProvider+"/refresh?env=development", nil)
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	req.Header.Set("Cookie", cspProvider+"-refresh-token="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return tabResult{}
	}
	defer resp.Body.Close()
	out := tabResult{status: resp.StatusCode}
	for _, c := range resp.Cookies() {
		if c.Name == cspProvider+"-refresh-token" && c.MaxAge >= 0 {
			out.cookie = c.Value
		}
	}
	var body struct {
		BackstageIdentity struct{ Token string } `json:"backstageIdentity"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	out.token = body.BackstageIdentity.Token
	return out
}

// signInCSP signs alice in on h through the console and returns the raw
// refresh cookie.
func signInCSP(t *testing.T, h *harness) string {
	t.Helper()
	b := newBrowser(t)
	resp, body := b.loginVia(h, cspProvider, cspQuery(), "alice", "alice-test-password", "login")
	if msg := popupMessage(t, resp, body); msg["response"] == nil {
		t.Fatalf("sign-in: %v", msg)
	}
	u, _ := url.Parse(h.base + "/api/auth/" + cspProvider + "/refresh")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == cspProvider+"-refresh-token" {
			return c.Value
		}
	}
	t.Fatal("no refresh cookie after sign-in")
	return ""
}

// tabs runs n concurrent refreshes of cookie, on bases in turn, and checks
// that each succeeded with its own Backstage token and that all set the
// same rotated cookie, which it returns.
func tabs(t *testing.T, n int, cookie string, bases ...string) string {
	t.Helper()
	out := make([]tabResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = refreshTab(t, bases[i%len(bases)], cookie) })
	}
	wg.Wait()
	ok, tokens := 0, map[string]bool{}
	for i, o := range out {
		if o.status == 200 && o.token != "" {
			ok++
		}
		if o.cookie == "" || o.cookie == cookie || o.cookie != out[0].cookie {
			t.Errorf("tab %d: status %d, cookie rotated to %.8q…, tab 0's %.8q…; want one rotated cookie for all", i, o.status, o.cookie, out[0].cookie)
		}
		tokens[o.token] = true
	}
	if ok != n || len(tokens) != n {
		t.Fatalf("%d/%d tabs refreshed, %d distinct Backstage tokens", ok, n, len(tokens))
	}
	return out[0].cookie
}

// TestParallelTabsOneReplica: 10 concurrent refreshes with one refresh
// cookie give 10/10 and one IdP call; a second session of the same user
// is unaffected; the old token reused after the grace period is refused.
func TestParallelTabsOneReplica(t *testing.T) {
	grants := &refreshGrants{}
	h := newHarness(t, harnessOptions{httpClient: grants.client()})
	first := signInCSP(t, h)
	second := signInCSP(t, h) // the same user in another browser
	const n = 10
	rotated := tabs(t, n, first, h.base)
	if c := grants.n.Load(); c != 1 {
		t.Fatalf("%d tabs made %d IdP refresh calls, want 1", n, c)
	}
	t.Logf("one replica: %d concurrent refreshes of one rotating refresh token answered by %d IdP call", n, grants.n.Load())

	// The other session refreshes with its own token, untouched.
	if o := refreshTab(t, h.base, second); o.status != 200 || o.cookie == "" || o.cookie == rotated {
		t.Fatalf("second session: %+v", o)
	}
	// Within the grace period a straggler tab with the old cookie is still
	// answered, from the record.
	h.clock.Add(server.DefaultRefreshGracePeriod - time.Second)
	if o := refreshTab(t, h.base, first); o.status != 200 || o.cookie != rotated {
		t.Fatalf("old cookie within the grace period: %d, cookie changed %v", o.status, o.cookie != rotated)
	}
	// After it, the old token goes to the IdP, which refuses it as before.
	h.clock.Add(2 * time.Second)
	if o := refreshTab(t, h.base, first); o.status != 401 {
		t.Fatalf("old cookie after the grace period: %d, want 401", o.status)
	}
	// The session lives on with its rotated token.
	if o := refreshTab(t, h.base, rotated); o.status != 200 {
		t.Fatalf("rotated cookie: %d", o.status)
	}
	if c := grants.n.Load(); c != 4 {
		t.Errorf("IdP refresh calls = %d, want 4 (the burst, the second session, the refused reuse, the rotated cookie)", c)
	}
}

// TestParallelTabsTwoReplicas: 10 concurrent refreshes with one refresh
// cookie split across two replicas on one PostgreSQL give 10/10 and one
// IdP call: the replicas elect the caller through the database.
func TestParallelTabsTwoReplicas(t *testing.T) {
	pgURL := pgtest.URL(t)
	grants := &refreshGrants{}
	h1 := newHarness(t, harnessOptions{httpClient: grants.client(), db: openMigrated(t, sqlstore.ClientPostgres, pgURL)})
	// Replica 2 uses replica 1's IdP console (its own dev IdP stays idle).
	h2 := newHarness(t, harnessOptions{httpClient: grants.client(), db: openMigrated(t, sqlstore.ClientPostgres, pgURL),
		consoleURL: func(*devidp.IdP) string { return h1.idp.ConsoleURL() }})
	cookie := signInCSP(t, h1)
	const n = 10
	rotated := tabs(t, n, cookie, h1.base, h2.base)
	if c := grants.n.Load(); c != 1 {
		t.Fatalf("%d tabs on two replicas made %d IdP refresh calls, want 1", n, c)
	}
	t.Logf("two replicas on PostgreSQL: %d concurrent refreshes of one rotating refresh token answered by %d IdP call", n, grants.n.Load())
	// The rotated token works on either replica.
	if o := refreshTab(t, h2.base, rotated); o.status != 200 {
		t.Fatalf("rotated cookie on replica 2: %d", o.status)
	}
	// The record holds no token in the clear.
	var answers []byte
	for _, r := range readGraceAnswers(t, pgURL) {
		answers = append(answers, r...)
	}
	if len(answers) == 0 || bytes.Contains(answers, []byte(rotated)) || strings.Contains(string(answers), "alice") {
		t.Errorf("grace records are empty or hold the token or claims in the clear (%d bytes)", len(answers))
	}
}

// readGraceAnswers reads the recorded answers straight from the database.
func readGraceAnswers(t *testing.T, pgURL string) [][]byte {
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: pgURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().Query(`SELECT answer FROM refresh_grace WHERE answer IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var a []byte
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}
