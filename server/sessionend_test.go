package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
)

// logoutVerifier is the fake provider with back-channel logout: verify
// stands in for the IdP's signature and claim checks.
type logoutVerifier struct {
	*providertest.Provider
	verify func(raw string) (*providers.LogoutClaims, error)
}

func (l logoutVerifier) VerifyLogoutToken(_ context.Context, raw string) (*providers.LogoutClaims, error) {
	return l.verify(raw)
}

// sessionHarness is the fake harness with a session-end store the test
// holds and a provider that verifies logout tokens "good-<sub>" issued at
// iat.
func sessionHarness(t *testing.T, iat time.Time) (*fakeHarness, *identity.MemorySessionEndStore) {
	store := identity.NewMemorySessionEndStore()
	p := providertest.New()
	prov := logoutVerifier{Provider: p, verify: func(raw string) (*providers.LogoutClaims, error) {
		sub, ok := strings.CutPrefix(raw, "good-")
		if !ok {
			return nil, errors.New("the logout token's signature does not verify with the IdP's keys")
		}
		return &providers.LogoutClaims{Issuer: "https://idp.example", Subject: sub, IssuedAt: iat, JTI: "j"}, nil
	}}
	h := newFakeHarness(t, p, prov, emailProfile, resolveAlice, func(o *Options) { o.SessionEnds = store })
	return h, store
}

func (h *fakeHarness) signInOnce() {
	h.t.Helper()
	if resp, body := h.frame(h.start("env=development&origin=" + url.QueryEscape(flowApp))); resp.StatusCode != http.StatusOK {
		h.t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
}

func (h *fakeHarness) postForm(path string, form url.Values) (*http.Response, string) {
	h.t.Helper()
	resp, err := h.c.PostForm(h.base+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// clearedCookies lists the cookies resp deletes (Max-Age=0).
func clearedCookies(resp *http.Response) map[string]bool {
	out := map[string]bool{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 && c.Domain == "" {
			out[c.Name] = true
		}
	}
	return out
}

func TestSessionCookieSealedAtSignIn(t *testing.T) {
	h, _ := sessionHarness(t, time.Now())
	before := time.Now()
	h.signInOnce()
	raw := h.cookie("fake-session")
	if raw == "" {
		t.Fatal("no fake-session cookie after sign-in")
	}
	ss, _ := newSessionSealer("fake-test-session-secret")
	sc, ok := ss.open("fake", "development", raw)
	if !ok {
		t.Fatal("the session cookie does not open with the session secret")
	}
	if sc.Sub != "alice" || sc.Ent != "user:default/alice" || sc.Started < before.UnixMicro() {
		t.Errorf("session cookie = %+v", sc)
	}
	if _, ok := ss.open("fake", "production", raw); ok {
		t.Error("a session cookie opened for another env")
	}
	if strings.Contains(raw, "alice") {
		t.Error("the session cookie shows its contents")
	}
}

func TestRefreshRefusesEndedSessionBeforeTheIdP(t *testing.T) {
	h, store := sessionHarness(t, time.Now())
	h.signInOnce()
	if resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh of a live session: %d %s", resp.StatusCode, body)
	}
	// Bob's logout leaves alice alone.
	if err := store.EndSessions(context.Background(), identity.SessionEnd{Sub: "bob", Before: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.do("GET", "/api/auth/fake/refresh?env=development", xhr); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user's session end refused alice: %d", resp.StatusCode)
	}
	calls := len(h.p.Calls().Refresh)
	if err := store.EndSessions(context.Background(), identity.SessionEnd{UserEntityRef: "user:default/alice", Before: time.Now().Add(time.Second), Reason: identity.ReasonOperator}); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The session has ended") {
		t.Fatalf("refresh of an ended session: %d %s", resp.StatusCode, body)
	}
	if got := len(h.p.Calls().Refresh); got != calls {
		t.Errorf("the IdP was asked to refresh an ended session (%d calls, want %d)", got, calls)
	}
	if c := clearedCookies(resp); !c["fake-refresh-token"] || !c["fake-session"] {
		t.Errorf("cleared cookies = %v; want the refresh and session cookies", c)
	}
	if h.cookie("fake-refresh-token") != "" {
		t.Error("the browser still holds the refresh cookie")
	}
}

func TestSessionWithoutCookieCountsAsStartedAtZero(t *testing.T) {
	h, store := sessionHarness(t, time.Now())
	h.signInOnce()
	u, _ := url.Parse(h.base + "/api/auth/fake")
	drop := func() { // as if signed in before Gatehouse set session cookies
		h.c.Jar.SetCookies(u, []*http.Cookie{{Name: "fake-session", Value: "", Path: "/api/auth/fake", MaxAge: -1}})
	}
	drop()
	if resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh without a session cookie: %d %s", resp.StatusCode, body)
	}
	ss, _ := newSessionSealer("fake-test-session-secret")
	if sc, ok := ss.open("fake", "development", h.cookie("fake-session")); !ok || sc.Started != 0 || sc.Sub != "alice" {
		t.Fatalf("the refresh set session cookie %+v (ok %v); want alice, started at zero", sc, ok)
	}
	drop()
	// A record made long ago still ends a session of unknown start.
	if err := store.EndSessions(context.Background(), identity.SessionEnd{Sub: "alice", Before: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	resp, _ := h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if resp.StatusCode != http.StatusUnauthorized || !clearedCookies(resp)["fake-refresh-token"] {
		t.Fatalf("refresh of an ended cookie-less session: %d, cleared %v", resp.StatusCode, clearedCookies(resp))
	}
}

func TestBackchannelLogout(t *testing.T) {
	iat := time.Now().Truncate(time.Second)
	h, store := sessionHarness(t, iat)
	h.signInOnce()
	const path = "/api/auth/fake/backchannel-logout?env=development"

	resp, body := h.postForm(path, url.Values{"logout_token": {"forged"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) || !strings.Contains(body, "signature") {
		t.Fatalf("bad token: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	if resp, body := h.postForm(path, url.Values{}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "logout_token") {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.postForm(path, url.Values{"logout_token": {"good-alice", "good-alice"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two tokens: %d %s", resp.StatusCode, body)
	}
	if l, _ := store.List(context.Background(), identity.SessionEndFilter{}); len(l) != 0 {
		t.Fatalf("refused logouts were recorded: %+v", l)
	}

	resp, body = h.postForm(path, url.Values{"logout_token": {"good-alice"}})
	if resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("good token: %d %q, Cache-Control %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	l, _ := store.List(context.Background(), identity.SessionEndFilter{Sub: "alice"})
	if len(l) != 1 || l[0].Provider != "fake" || l[0].Reason != identity.ReasonBackchannelLogout || !l[0].Before.Equal(iat.Add(time.Second)) || l[0].Source != "https://idp.example" {
		t.Fatalf("records = %+v", l)
	}
	if resp, _ := h.do("GET", "/api/auth/fake/refresh?env=development", xhr); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh after back-channel logout: %d", resp.StatusCode)
	}
}

func TestBackchannelLogoutRefusals(t *testing.T) {
	h := newFake(t, resolveAlice) // providertest.Provider has no logout-token verifier
	resp, body := h.postForm("/api/auth/fake/backchannel-logout?env=development", url.Values{"logout_token": {"x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not support back-channel logout") {
		t.Errorf("provider without verifier: %d %s", resp.StatusCode, body)
	}
	hs, _ := sessionHarness(t, time.Now())
	req, _ := http.NewRequest("POST", hs.base+"/api/auth/fake/backchannel-logout?env=development", strings.NewReader(`{"logout_token":"good-alice"}`))
	req.Header.Set("Content-Type", "application/json")
	r2, err := hs.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON body: %d, want 400", r2.StatusCode)
	}
}

func TestLogoutClearsSessionCookie(t *testing.T) {
	h, _ := sessionHarness(t, time.Now())
	h.signInOnce()
	req, _ := http.NewRequest("POST", h.base+"/api/auth/fake/logout?env=development", nil)
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	resp, err := h.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !clearedCookies(resp)["fake-session"] || h.cookie("fake-session") != "" {
		t.Errorf("logout: cleared %v", clearedCookies(resp))
	}
}

// brokenEnds is a session-end store whose database is down.
type brokenEnds struct{ identity.SessionEndStore }

func (brokenEnds) Ended(context.Context, identity.Session) (bool, error) {
	return false, errors.New("connection refused")
}

func (brokenEnds) EndSessions(context.Context, identity.SessionEnd) error {
	return errors.New("connection refused")
}

// TestSessionEndStoreDown: with the store down, a refresh is refused
// before the IdP (fail closed) but keeps its cookies, and a back-channel
// logout answers 400 temporarily_unavailable so the IdP may send it again.
func TestSessionEndStoreDown(t *testing.T) {
	p := providertest.New()
	prov := logoutVerifier{Provider: p, verify: func(string) (*providers.LogoutClaims, error) {
		return &providers.LogoutClaims{Subject: "alice", IssuedAt: time.Now()}, nil
	}}
	down := newFakeHarness(t, p, prov, emailProfile, resolveAlice, func(o *Options) { o.SessionEnds = brokenEnds{} })
	down.signInOnce()
	resp, body := down.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "ServiceUnavailableError") || strings.Contains(body, "connection refused") {
		t.Fatalf("refresh with the store down: %d %s", resp.StatusCode, body)
	}
	if len(p.Calls().Refresh) != 0 || len(clearedCookies(resp)) != 0 {
		t.Errorf("refresh with the store down: %d IdP calls, cleared %v; want none", len(p.Calls().Refresh), clearedCookies(resp))
	}
	resp, body = down.postForm("/api/auth/fake/backchannel-logout?env=development", url.Values{"logout_token": {"t"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "temporarily_unavailable") {
		t.Errorf("back-channel logout with the store down: %d %s", resp.StatusCode, body)
	}
}

// TestRotatedRefreshRenewsSessionCookie: when a refresh sets the refresh
// cookie again (a rotated token), it sets the session cookie again too,
// unchanged, so the two live as long as each other and a long session is
// never taken for one that started at time zero.
func TestRotatedRefreshRenewsSessionCookie(t *testing.T) {
	h, _ := sessionHarness(t, time.Now())
	h.signInOnce()
	ss, _ := newSessionSealer("fake-test-session-secret")
	first, ok := ss.open("fake", "development", h.cookie("fake-session"))
	if !ok {
		t.Fatal("no session cookie after sign-in")
	}
	rotated := providertest.DefaultResult()
	rotated.Session.RefreshToken = "refresh-2"
	h.p.RefreshResult = rotated
	resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	var renewed string
	for _, c := range resp.Cookies() {
		if c.Name == "fake-session" && c.MaxAge > 0 {
			renewed = decodeURIComponent(c.Value)
		}
	}
	again, ok := ss.open("fake", "development", renewed)
	if !ok || again != first {
		t.Errorf("after a rotated refresh the session cookie is %+v (ok %v), want it set again as %+v", again, ok, first)
	}

	// A refresh that keeps its token leaves both cookies as they are.
	h.p.RefreshResult = rotated // refresh-2 again: not rotated now
	resp, _ = h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	for _, c := range resp.Cookies() {
		if c.Name == "fake-session" {
			t.Errorf("a refresh that kept its token set the session cookie: %v", c)
		}
	}
}
