package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// These tests run the server's flows against a fake at each seam: the
// providertest provider, a transforms function, a resolver function and the
// real token issuer on a memory key store. They check what the server does
// with each answer a seam can give, which the dev IdP cannot be made to give.

// transformsFunc is the profile transforms given as a function.
type transformsFunc func(ctx context.Context, providerID string, r *providers.Result) (providers.Profile, error)

func (f transformsFunc) Apply(ctx context.Context, providerID string, r *providers.Result) (providers.Profile, error) {
	return f(ctx, providerID, r)
}

var emailProfile = transformsFunc(func(_ context.Context, _ string, r *providers.Result) (providers.Profile, error) {
	email, _ := r.IDTokenClaims["email"].(string)
	return providers.Profile{Email: email}, nil
})

type fakeHarness struct {
	t    *testing.T
	base string
	p    *providertest.Provider
	c    *http.Client
}

// newFakeHarness serves provider id "fake", env "development", with prov
// (a *providertest.Provider or a Basic wrapping p); opts change the
// server's options last.
func newFakeHarness(t *testing.T, p *providertest.Provider, prov providers.Provider, tr Transforms, res resolvers.SignInResolver, opts ...func(*Options)) *fakeHarness {
	t.Helper()
	return newFakeHarnessWith(t, p, prov, tr, res, nil, opts...)
}

// newFakeHarnessWith is newFakeHarness with env's settings changed by mod
// (nil changes nothing).
func newFakeHarnessWith(t *testing.T, p *providertest.Provider, prov providers.Provider, tr Transforms, res resolvers.SignInResolver, mod func(env *Environment), opts ...func(*Options)) *fakeHarness {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:   srv.URL + "/api/auth",
		Keys:     identity.NewMemoryKeyStore(),
		UserInfo: identity.NewMemoryUserInfoStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	env := &Environment{Provider: prov, Transforms: tr, Resolver: res, AdditionalScopes: []string{"extra"}}
	if mod != nil {
		mod(env)
	}
	o := Options{
		AppBaseURL:          flowApp,
		AuthBaseURL:         srv.URL + "/api/auth",
		ExtraAllowedOrigins: flowExtraOrigins,
		SessionSecret:       "fake-test-session-secret",
		Providers:           map[string]map[string]*Environment{"fake": {"development": env}},
		Tokens:              tokens,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &fakeHarness{t: t, base: srv.URL, p: p, c: c}
}

func (h *fakeHarness) do(method, path string, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = h.base + path
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// start runs /start with query and returns the state the server handed the
// fake IdP.
func (h *fakeHarness) start(query string) string {
	h.t.Helper()
	resp, body := h.do("GET", "/api/auth/fake/start?"+query, nil)
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "idp.example" {
		h.t.Fatalf("start went to %q", resp.Header.Get("Location"))
	}
	return loc.Query().Get("state")
}

// frame visits the callback with state and a code, as the IdP would send.
func (h *fakeHarness) frame(state string) (*http.Response, string) {
	h.t.Helper()
	return h.do("GET", "/api/auth/fake/handler/frame?"+url.Values{"state": {state}, "code": {"code-1"}}.Encode(), nil)
}

func (h *fakeHarness) cookie(name string) string {
	u, _ := url.Parse(h.base + "/api/auth/fake/handler/frame")
	for _, c := range h.c.Jar.Cookies(u) {
		if c.Name == name {
			return decodeURIComponent(c.Value)
		}
	}
	return ""
}

var xhr = map[string]string{"X-Requested-With": "XMLHttpRequest"}

func newFake(t *testing.T, res resolvers.SignInResolver) *fakeHarness {
	p := providertest.New()
	return newFakeHarness(t, p, p, emailProfile, res)
}

func TestFakeStartScopesAndTransaction(t *testing.T) {
	p := providertest.New()
	p.ScopeConfig = providers.Scopes{Required: []string{"openid"}}
	h := newFakeHarness(t, p, p, emailProfile, resolveAlice)
	state := h.start("env=development&scope=profile%20openid")
	calls := h.p.Calls()
	if len(calls.Start) != 1 || calls.Start[0].Scope != "profile openid extra" || calls.Start[0].State != state {
		t.Fatalf("start request: %+v", calls.Start)
	}
	st, err := decodeState(state)
	if err != nil || st.Env != "development" || st.Nonce == "" || st.Nonce != h.cookie("fake-nonce") {
		t.Fatalf("state %+v (%v), nonce cookie %q", st, err, h.cookie("fake-nonce"))
	}
	if h.cookie("fake-transaction") == "" {
		t.Fatal("no transaction cookie")
	}
}

func TestFakeStartRefusals(t *testing.T) {
	h := newFake(t, resolveAlice)
	for _, c := range []struct{ query, name string }{
		{"scope=openid", autherr.NameInput},
		{"env=production", autherr.NameNotFound},
		{"env=development&origin=" + url.QueryEscape("http://evil.example"), autherr.NameNotAllowed},
		{"env=development&origin=" + url.QueryEscape("::not a url"), autherr.NameInput},
		{"env=development&flow=redirect&redirectUrl=" + url.QueryEscape("https://evil.example/x"), autherr.NameNotAllowed},
	} {
		resp, body := h.do("GET", "/api/auth/fake/start?"+c.query, nil)
		if _, name, _ := envelope(t, resp, body); name != c.name {
			t.Errorf("%s: %s, want %s", c.query, name, c.name)
		}
	}
	h.p.StartErr = errors.New("idp unreachable")
	resp, body := h.do("GET", "/api/auth/fake/start?env=development", nil)
	if status, _, msg := envelope(t, resp, body); status != 500 || strings.Contains(msg, "unreachable") {
		t.Errorf("provider start error: %d %q", status, msg)
	}
	if len(h.p.Calls().Start) != 1 {
		t.Errorf("refused starts reached the provider: %+v", h.p.Calls().Start)
	}
}

func TestFakePopupSignIn(t *testing.T) {
	h := newFake(t, resolveAlice)
	state := h.start("env=development&origin=" + url.QueryEscape("http://allowed.example"))
	resp, body := h.frame(state)
	p := readPopup(t, resp, body)
	if p.origin != "http://allowed.example" || p.msg["type"] != "authorization_response" {
		t.Fatalf("popup posts %+v", p)
	}
	r, _ := p.msg["response"].(map[string]any)
	prof, _ := r["profile"].(map[string]any)
	bi, _ := r["backstageIdentity"].(map[string]any)
	if prof["email"] != "alice@example.com" || bi == nil || bi["token"] == "" {
		t.Fatalf("response %+v", r)
	}
	if h.cookie("fake-refresh-token") != "refresh-1" {
		t.Fatalf("refresh cookie %q", h.cookie("fake-refresh-token"))
	}
	calls := h.p.Calls().Authenticate
	if len(calls) != 1 || calls[0].Params.Get("code") != "code-1" || calls[0].Transaction.Nonce != "nonce-1" {
		t.Fatalf("authenticate calls %+v", calls)
	}
	// The transaction is single-use: the same callback again fails.
	resp, body = h.frame(state)
	if name, _ := readPopup(t, resp, body).err(); name == "" {
		t.Fatal("replayed callback accepted")
	}
}

func TestFakeRedirectSignIn(t *testing.T) {
	h := newFake(t, nil)
	state := h.start("env=development&flow=redirect&redirectUrl=" + url.QueryEscape(flowApp+"/done"))
	resp, _ := h.frame(state)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != flowApp+"/done" {
		t.Fatalf("redirect flow: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A failure in the redirect flow goes back as ?error=.
	h.p.AuthErr = autherr.Authentication("code rejected")
	state = h.start("env=development&flow=redirect&redirectUrl=" + url.QueryEscape(flowApp+"/done"))
	resp, _ = h.frame(state)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") == "" {
		t.Fatalf("redirect flow failure: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestFakeFrameFailures(t *testing.T) {
	unresolved := resolverFunc(func(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
		return nil, autherr.NotFound("no such user")
	})
	broken := resolverFunc(func(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
		return nil, errors.New("catalog down")
	})
	for _, c := range []struct {
		name    string
		res     resolvers.SignInResolver
		tr      Transforms
		authErr error
		want    string
	}{
		{"provider error", resolveAlice, emailProfile, autherr.Authentication("code rejected"), autherr.NameAuthentication},
		{"resolver not found", unresolved, emailProfile, nil, autherr.NameNotFound},
		{"resolver error", broken, emailProfile, nil, "Error"},
		{"transform error", resolveAlice, transformsFunc(func(context.Context, string, *providers.Result) (providers.Profile, error) {
			return providers.Profile{}, autherr.Input("no email")
		}), nil, autherr.NameInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := providertest.New()
			p.AuthErr = c.authErr
			h := newFakeHarness(t, p, p, c.tr, c.res)
			resp, body := h.frame(h.start("env=development"))
			name, msg := readPopup(t, resp, body).err()
			if name != c.want || strings.Contains(msg, "catalog down") {
				t.Fatalf("error %s %q, want %s", name, msg, c.want)
			}
			if h.cookie("fake-refresh-token") != "" {
				t.Fatal("failed sign-in set the refresh cookie")
			}
		})
	}
}

func TestFakeFrameMismatches(t *testing.T) {
	h := newFake(t, resolveAlice)
	state := h.start("env=development")
	// Another login's state: its nonce is not the cookie's.
	other, _ := decodeState(state)
	other.Nonce = "someone-else"
	resp, body := h.frame(encodeState(other))
	if name, msg := readPopup(t, resp, body).err(); name != autherr.NameNotAllowed || msg != "Invalid nonce" {
		t.Fatalf("nonce mismatch: %s %q", name, msg)
	}
	// The provider gets back a transaction other than the one it gave.
	h.p.Transaction = providers.Transaction{Nonce: "changed"}
	resp, body = h.frame(state)
	if name, _ := readPopup(t, resp, body).err(); name == "" {
		t.Fatal("transaction mismatch accepted")
	}
	if calls := h.p.Calls().Authenticate; len(calls) != 1 || calls[0].Transaction.Nonce != "nonce-1" {
		t.Fatalf("authenticate calls %+v", calls)
	}
	// No nonce cookie at all.
	h2 := newFake(t, resolveAlice)
	resp, body = h2.frame(state)
	if name, msg := readPopup(t, resp, body).err(); name != autherr.NameNotAllowed || !strings.Contains(msg, "missing cookie nonce") {
		t.Fatalf("missing nonce: %s %q", name, msg)
	}
}

func TestFakeRefresh(t *testing.T) {
	h := newFake(t, resolveAlice)
	h.frame(h.start("env=development"))
	// Without the header, nothing reaches the provider.
	resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", nil)
	if _, _, msg := envelope(t, resp, body); msg != "Invalid X-Requested-With header" {
		t.Fatalf("no X-Requested-With: %q", msg)
	}
	resp, body = h.do("GET", "/api/auth/fake/refresh?env=development&scope=openid", xhr)
	if resp.StatusCode != 200 || !strings.Contains(body, `"backstageIdentity"`) {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	if calls := h.p.Calls().Refresh; len(calls) != 1 || calls[0].RefreshToken != "refresh-1" || calls[0].Scope != "openid extra" {
		t.Fatalf("refresh calls %+v", calls)
	}
	// A rotated refresh token replaces the one in the cookie.
	h.p.RefreshResult = providertest.DefaultResult()
	h.p.RefreshResult.Session.RefreshToken = "refresh-2"
	resp, _ = h.do("POST", "/api/auth/fake/refresh?env=development", xhr)
	if resp.StatusCode != 200 || h.cookie("fake-refresh-token") != "refresh-2" {
		t.Fatalf("rotation: %d, cookie %q", resp.StatusCode, h.cookie("fake-refresh-token"))
	}
	// The IdP refuses.
	h.p.RefreshErr = autherr.Authentication("invalid_grant")
	resp, body = h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if status, name, msg := envelope(t, resp, body); status != 401 || name != autherr.NameAuthentication || !strings.HasPrefix(msg, "Refresh failed") {
		t.Fatalf("IdP failure: %d %s %q", status, name, msg)
	}
	// No session cookie.
	h2 := newFake(t, resolveAlice)
	resp, body = h2.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if _, _, msg := envelope(t, resp, body); !strings.Contains(msg, "Missing session cookie") {
		t.Fatalf("missing cookie: %q", msg)
	}
	if len(h2.p.Calls().Refresh) != 0 {
		t.Fatal("refresh without a cookie reached the provider")
	}
}

func TestFakeRefreshNotSupported(t *testing.T) {
	p := providertest.New()
	h := newFakeHarness(t, p, providertest.Basic{P: p}, emailProfile, resolveAlice)
	h.frame(h.start("env=development"))
	resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr)
	if _, _, msg := envelope(t, resp, body); !strings.Contains(msg, "not supported") {
		t.Fatalf("refresh on a provider without Refresh: %q", msg)
	}
}

func TestFakeLogout(t *testing.T) {
	for _, c := range []struct {
		name      string
		basic     bool
		logoutURL string
		err       error
		wantURL   string
	}{
		{name: "no LogoutHandler", basic: true},
		{name: "revokes", logoutURL: "https://idp.example/logout", wantURL: "https://idp.example/logout"},
		{name: "revocation fails", err: errors.New("revocation endpoint down")},
		{name: "unsafe logout URL dropped", logoutURL: "javascript:alert(1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := providertest.New()
			p.LogoutURL, p.LogoutErr = c.logoutURL, c.err
			var prov providers.Provider = p
			if c.basic {
				prov = providertest.Basic{P: p}
			}
			h := newFakeHarness(t, p, prov, emailProfile, resolveAlice)
			h.frame(h.start("env=development"))
			if h.cookie("fake-refresh-token") == "" {
				t.Fatal("not signed in")
			}
			resp, body := h.do("POST", "/api/auth/fake/logout?env=development", xhr)
			if resp.StatusCode != 200 {
				t.Fatalf("logout: %d %s", resp.StatusCode, body)
			}
			if (c.wantURL == "") != (body == "") || (c.wantURL != "" && !strings.Contains(body, c.wantURL)) {
				t.Fatalf("logout body %q, want URL %q", body, c.wantURL)
			}
			if h.cookie("fake-refresh-token") != "" {
				t.Fatal("refresh cookie survived logout")
			}
			calls := p.Calls().Logout
			if c.basic != (len(calls) == 0) || (!c.basic && calls[0].RefreshToken != "refresh-1") {
				t.Fatalf("logout calls %+v", calls)
			}
		})
	}
	h := newFake(t, resolveAlice)
	resp, body := h.do("POST", "/api/auth/fake/logout?env=development", nil)
	if _, _, msg := envelope(t, resp, body); msg != "Invalid X-Requested-With header" {
		t.Fatalf("no X-Requested-With: %q", msg)
	}
	resp, body = h.do("POST", "/api/auth/fake/logout?env=development", map[string]string{"X-Requested-With": "XMLHttpRequest", "Origin": "http://evil.example"})
	if _, name, _ := envelope(t, resp, body); name != autherr.NameNotAllowed {
		t.Fatalf("disallowed origin: %s", name)
	}
}
