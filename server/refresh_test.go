package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// rotatingIdP is a fake IdP that rotates refresh tokens as CSP does: each
// token is accepted once, and answers with a new one. It is shared by the
// "replicas" of a test, as one IdP is. With gate set, every call waits for
// it to close.
type rotatingIdP struct {
	*providertest.Provider
	gate chan struct{}

	mu    sync.Mutex
	live  map[string]bool
	next  int
	calls int
}

func newRotatingIdP(tokens ...string) *rotatingIdP {
	p := &rotatingIdP{Provider: providertest.New(), live: map[string]bool{}}
	for _, t := range tokens {
		p.live[t] = true
	}
	return p
}

func (p *rotatingIdP) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Result, error) {
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if !p.live[req.RefreshToken] {
		return nil, autherr.Authentication("invalid_grant: refresh token revoked or expired")
	}
	delete(p.live, req.RefreshToken)
	p.next++
	r := providertest.DefaultResult()
	r.Session.RefreshToken = "rotated-" + strconv.Itoa(p.next)
	r.Session.AccessToken = "access-" + strconv.Itoa(p.next)
	p.live[r.Session.RefreshToken] = true
	return r, nil
}

func (p *rotatingIdP) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// replica is one Server of a refresh test.
type replica struct {
	s    *Server
	base string
	reg  *prometheus.Registry
}

type refreshTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *refreshTestClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *refreshTestClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newReplica serves provider "fake" with idp, the real issuer and a
// resolver that signs every user in as user:default/alice.
func newReplica(t *testing.T, idp providers.Provider, store identity.RefreshGraceStore, secret string, now func() time.Time) *replica {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer: srv.URL + "/api/auth", Keys: identity.NewMemoryKeyStore(), UserInfo: identity.NewMemoryUserInfoStore(), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	res := resolverFunc(func(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
		return &resolvers.SignInResult{UserEntityRef: "user:default/alice"}, nil
	})
	s, err := New(Options{
		AppBaseURL: flowApp, AuthBaseURL: srv.URL + "/api/auth", SessionSecret: secret,
		Providers: map[string]map[string]*Environment{"fake": {"development": {
			Provider: idp, Transforms: emailProfile, Resolver: res,
		}}},
		Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: m, RefreshGrace: store, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	return &replica{s: s, base: srv.URL, reg: reg}
}

type refreshOutcome struct {
	status int
	cookie string // the refresh cookie set, "" when none
	token  string // backstageIdentity.token
}

// refreshWith calls /refresh with refreshToken in the cookie, as a tab does.
func (r *replica) refreshWith(t *testing.T, refreshToken string) refreshOutcome {
	req, _ := http.NewRequest("POST", r.base+"/api/auth/fake/refresh?env=development", nil)
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	req.AddCookie(&http.Cookie{Name: "fake-refresh-token", Value: url.QueryEscape(refreshToken)})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return refreshOutcome{}
	}
	defer resp.Body.Close()
	out := refreshOutcome{status: resp.StatusCode}
	for _, c := range resp.Cookies() {
		if c.Name == "fake-refresh-token" && c.MaxAge > 0 {
			out.cookie = decodeURIComponent(c.Value)
		}
	}
	var body struct {
		BackstageIdentity struct{ Token string } `json:"backstageIdentity"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	out.token = body.BackstageIdentity.Token
	return out
}

func sharedCount(t *testing.T, reg *prometheus.Registry, how string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "gatehouse_refresh_shared_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "how" && l.GetValue() == how {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// burst runs n concurrent refreshes with token, on replicas in turn.
func burst(t *testing.T, n int, token string, replicas ...*replica) []refreshOutcome {
	out := make([]refreshOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = replicas[i%len(replicas)].refreshWith(t, token) })
	}
	wg.Wait()
	return out
}

// checkBurst asserts every refresh succeeded with its own Backstage token
// and the same rotated cookie.
func checkBurst(t *testing.T, out []refreshOutcome) {
	t.Helper()
	tokens := map[string]bool{}
	for i, o := range out {
		if o.status != 200 || o.token == "" {
			t.Fatalf("refresh %d: status %d, token %q", i, o.status, o.token)
		}
		if o.cookie != out[0].cookie || o.cookie == "" || o.cookie == "rt-0" {
			t.Errorf("refresh %d set cookie %q, refresh 0 %q: want one rotated token for all", i, o.cookie, out[0].cookie)
		}
		tokens[o.token] = true
	}
	// Each ran its own issuance: every token is new.
	if len(tokens) != len(out) {
		t.Errorf("%d distinct Backstage tokens for %d refreshes", len(tokens), len(out))
	}
}

// TestRefreshSingleFlight: 10 concurrent refreshes of one rotating token on
// one replica all join one flight, while the IdP call is held: 10/10, one
// IdP call, 9 followers counted as flight.
func TestRefreshSingleFlight(t *testing.T) {
	idp := newRotatingIdP("rt-0")
	idp.gate = make(chan struct{})
	r := newReplica(t, idp, nil, "refresh-test-secret", time.Now)
	const n = 10
	var joins sync.WaitGroup
	joins.Add(n)
	r.s.refreshes.joined = joins.Done
	go func() { joins.Wait(); close(idp.gate) }()
	out := burst(t, n, "rt-0", r)
	r.s.refreshes.joined = nil
	checkBurst(t, out)
	if c := idp.Calls(); c != 1 {
		t.Errorf("IdP refresh calls = %d, want 1", c)
	}
	if f := sharedCount(t, r.reg, metrics.SharedFlight); f != n-1 {
		t.Errorf("shared{how=flight} = %v, want %d", f, n-1)
	}
	// The rotated token works once more, as the next refresh of the tab.
	if o := r.refreshWith(t, out[0].cookie); o.status != 200 || o.cookie == out[0].cookie {
		t.Errorf("next refresh with the rotated token: %+v", o)
	}
}

// TestRefreshGraceRecordAcrossReplicas: two servers sharing one store and
// secret, as two replicas on one database: a token refreshed on A is
// answered on B from A's record without an IdP call, until the grace
// period ends; then the IdP refuses it as it always did. A second session
// of the same user is unaffected throughout.
func TestRefreshGraceRecordAcrossReplicas(t *testing.T) {
	idp := newRotatingIdP("rt-0", "other-0")
	store := identity.NewMemoryRefreshGraceStore()
	clock := &refreshTestClock{now: time.Now()}
	a := newReplica(t, idp, store, "refresh-test-secret", clock.Now)
	b := newReplica(t, idp, store, "refresh-test-secret", clock.Now)

	first := a.refreshWith(t, "rt-0")
	if first.status != 200 || first.cookie != "rotated-1" {
		t.Fatalf("refresh on A: %+v", first)
	}
	clock.Add(DefaultRefreshGracePeriod - time.Second)
	second := b.refreshWith(t, "rt-0")
	if second.status != 200 || second.cookie != "rotated-1" || second.token == "" || second.token == first.token {
		t.Fatalf("refresh on B within the grace period: %+v (A: %+v)", second, first)
	}
	if c := idp.Calls(); c != 1 {
		t.Errorf("IdP calls = %d, want 1", c)
	}
	if rec := sharedCount(t, b.reg, metrics.SharedRecord); rec != 1 {
		t.Errorf("B shared{how=record} = %v, want 1", rec)
	}
	// A second session of the same user refreshes on its own.
	if o := b.refreshWith(t, "other-0"); o.status != 200 || o.cookie != "rotated-2" {
		t.Errorf("second session: %+v", o)
	}
	// After the window the spent token goes to the IdP, which refuses it.
	clock.Add(2 * time.Second)
	if o := b.refreshWith(t, "rt-0"); o.status != 401 || o.cookie != "" {
		t.Errorf("reuse after the grace period: %+v, want 401 and no cookie", o)
	}
	if c := idp.Calls(); c != 3 {
		t.Errorf("IdP calls = %d, want 3 (rt-0, other-0, the refused reuse)", c)
	}
	// The refused claim was released: nothing is pending for rt-0.
	if _, live, _ := store.GetRefresh(context.Background(), refreshKey(b.s.providers["fake"].envs["development"], "rt-0"), clock.Now()); live {
		t.Error("a failed refresh left its claim behind")
	}
}

// TestRefreshWaitsForClaim: B finds A's pending claim and uses the answer A
// records once it does, without calling the IdP.
func TestRefreshWaitsForClaim(t *testing.T) {
	idp := newRotatingIdP("rt-0")
	store := identity.NewMemoryRefreshGraceStore()
	b := newReplica(t, idp, store, "refresh-test-secret", time.Now)
	rt := b.s.providers["fake"].envs["development"]
	key := refreshKey(rt, "rt-0")
	if won, _ := store.ClaimRefresh(context.Background(), key, time.Now(), time.Now().Add(time.Minute)); !won {
		t.Fatal("claim lost")
	}
	done := make(chan refreshOutcome)
	go func() { done <- b.refreshWith(t, "rt-0") }()
	r := providertest.DefaultResult()
	r.Session.RefreshToken = "from-a"
	sealed, err := b.s.refreshes.seal(key, graceRecord{At: time.Now().UnixMilli(), Result: r})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutRefresh(context.Background(), key, sealed, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-done:
		if o.status != 200 || o.cookie != "from-a" {
			t.Fatalf("waiting refresh: %+v", o)
		}
	case <-time.After(30 * time.Second): // hang guard
		t.Fatal("refresh did not see the recorded answer")
	}
	if c := idp.Calls(); c != 0 {
		t.Errorf("IdP calls = %d, want 0", c)
	}
}

// TestRefreshRecordOtherSecret: a record sealed under another session
// secret is not used; the IdP decides.
func TestRefreshRecordOtherSecret(t *testing.T) {
	idp := newRotatingIdP("rt-0")
	store := identity.NewMemoryRefreshGraceStore()
	a := newReplica(t, idp, store, "secret-one", time.Now)
	b := newReplica(t, idp, store, "secret-two", time.Now)
	if o := a.refreshWith(t, "rt-0"); o.status != 200 {
		t.Fatalf("refresh on A: %+v", o)
	}
	if o := b.refreshWith(t, "rt-0"); o.status != 401 {
		t.Errorf("refresh on B with another secret: %+v, want the IdP's refusal", o)
	}
	if c := idp.Calls(); c != 2 {
		t.Errorf("IdP calls = %d, want 2", c)
	}
}

// TestRefreshNonRotatingSkipsStore: an IdP that keeps the refresh token
// needs no record; later refreshes go to the IdP every time.
func TestRefreshNonRotatingSkipsStore(t *testing.T) {
	p := providertest.New()
	store := identity.NewMemoryRefreshGraceStore()
	r := newReplica(t, p, store, "refresh-test-secret", time.Now)
	for i := range 3 {
		if o := r.refreshWith(t, "refresh-1"); o.status != 200 || o.cookie != "" {
			t.Fatalf("refresh %d: %+v", i, o)
		}
	}
	if n := len(p.Calls().Refresh); n != 3 {
		t.Errorf("IdP calls = %d, want 3", n)
	}
	if n, _ := store.DeleteExpiredRefresh(context.Background(), time.Now().Add(time.Hour)); n != 0 {
		t.Errorf("%d rows left in the store", n)
	}
}

// BenchmarkGraceLookup is the added latency of the grace records on the
// memory store (the SQL stores' figures are identity/sqlstore's
// BenchmarkRefreshGrace): leader is what a lone refresh adds around its IdP
// call (claim, seal, record); replay is what a refresh pays instead of the
// IdP call when the answer is recorded (the lost claim, lookup, unseal).
func BenchmarkGraceLookup(b *testing.B) {
	store := identity.NewMemoryRefreshGraceStore()
	g, err := newRefreshes("bench-secret", Options{Now: time.Now, RefreshGrace: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	rt := &envRuntime{id: "vcfsso", env: "development"}
	ctx := context.Background()
	result := providertest.DefaultResult()
	b.Run("leader", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			now := time.Now()
			key := refreshKey(rt, "token-"+strconv.Itoa(i))
			if won, _ := store.ClaimRefresh(ctx, key, now, now.Add(refreshClaimTTL)); !won {
				b.Fatal("claim lost")
			}
			sealed, err := g.seal(key, graceRecord{At: now.UnixMilli(), Result: result})
			if err != nil {
				b.Fatal(err)
			}
			if err := store.PutRefresh(ctx, key, sealed, now.Add(g.grace)); err != nil {
				b.Fatal(err)
			}
		}
	})
	key := refreshKey(rt, "token")
	sealed, err := g.seal(key, graceRecord{At: time.Now().UnixMilli(), Result: result})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.PutRefresh(ctx, key, sealed, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			now := time.Now()
			key := refreshKey(rt, "token")
			if won, _ := store.ClaimRefresh(ctx, key, now, now.Add(refreshClaimTTL)); won {
				b.Fatal("claim won over a recorded answer")
			}
			s, _, _ := store.GetRefresh(ctx, key, now)
			if _, err := g.open(key, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
