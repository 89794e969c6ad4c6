package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// This file is the package's test harness, shared by every handler's
// tests: a Server on a memory store and a real identity.Issuer, a fake
// CIMD fetcher and user directory, and a settable clock, mounted on Echo
// under /api/auth with an error handler that writes the envelope's name,
// message and status (the server package writes the real envelope).

const (
	testAuthBase = "https://bs.example.com/api/auth"
	testAppBase  = "https://bs.example.com"
	// testCIMDClient is a CIMD client the fake fetcher knows.
	testCIMDClient = "https://client.example.net/oauth/client.json"
	testUser       = "user:default/alice"
)

// fakeFetcher serves CIMD documents from a map and counts fetches.
type fakeFetcher struct {
	mu      sync.Mutex
	clients map[string]*cimd.Client
	errs    map[string]error
	calls   int
}

func (f *fakeFetcher) Fetch(_ context.Context, id string) (*cimd.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	c, ok := f.clients[id]
	if !ok {
		return nil, cimd.ErrFetch
	}
	cc := *c
	return &cc, nil
}

// fakeUsers is a UserDirectory: users present, or err for everyone.
type fakeUsers struct {
	mu      sync.Mutex
	present map[string]bool
	err     error
}

func (u *fakeUsers) UserExists(_ context.Context, ref string) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return false, u.err
	}
	return u.present[ref], nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is one Server under test.
type harness struct {
	t       *testing.T
	srv     *Server
	http    *httptest.Server
	store   *identity.MemoryOAuthStore
	issuer  *identity.Issuer
	fetcher *fakeFetcher
	users   *fakeUsers
	clock   *clock
}

// testConfig turns everything on: DCR, CIMD with the test client
// allowlisted, refresh tokens with Backstage's defaults.
func testConfig() Config {
	return Config{
		AuthBaseURL: testAuthBase,
		AppBaseURL:  testAppBase,
		DCR:         DCRConfig{Enabled: true, RedirectURIPatterns: cimd.DefaultDCRRedirectURIPatterns()},
		CIMD: CIMDConfig{Enabled: true,
			ClientIDPatterns:    cimd.ClientIDAllowlist([]string{"https://client.example.net/oauth/*"}, testAuthBase+"/.well-known/oauth-client/cli.json"),
			RedirectURIPatterns: cimd.DefaultRedirectURIPatterns()},
		Refresh: RefreshConfig{Enabled: true, IdleLifetime: 30 * 24 * time.Hour, AbsoluteLifetime: 365 * 24 * time.Hour, MaxPerUser: 20, CheckCatalog: true},
	}
}

// newHarness starts a Server on cfg; edit, when set, changes the options
// before New.
func newHarness(t *testing.T, cfg Config, edit func(*Options)) *harness {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	issuer, err := identity.NewIssuer(identity.Options{Issuer: cfg.AuthBaseURL, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: identity.NewMemoryOAuthStore(), issuer: issuer, clock: clk,
		fetcher: &fakeFetcher{clients: map[string]*cimd.Client{
			testCIMDClient: {ID: testCIMDClient, Name: "Test CIMD Client",
				RedirectURIs: []string{"http://127.0.0.1:8055/callback", "http://localhost/cb"},
				GrantTypes:   []string{cimd.GrantAuthorizationCode, cimd.GrantRefreshToken}, ResponseTypes: []string{cimd.ResponseTypeCode}},
		}, errs: map[string]error{}},
		users: &fakeUsers{present: map[string]bool{testUser: true}},
	}
	o := Options{Config: cfg, Store: h.store, Tokens: issuer, Users: h.users, Fetcher: h.fetcher,
		GraceSecret: "test-session-secret", Now: clk.Now}
	if edit != nil {
		edit(&o)
	}
	if h.srv, err = New(o); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var ae *autherr.Error
		if !errors.As(err, &ae) {
			ae = &autherr.Error{Name: "Error", Message: err.Error()}
		}
		var he *echo.HTTPError
		status := autherr.StatusOf(ae)
		if errors.As(err, &he) {
			status = he.Code
		}
		c.JSON(status, map[string]any{"error": map[string]string{"name": ae.Name, "message": ae.Message}, "response": map[string]int{"statusCode": status}})
	}
	g := e.Group("/api/auth")
	for _, r := range h.srv.Routes() {
		if r.Root {
			e.Add(r.Method, r.Path, r.Handler)
		} else {
			g.Add(r.Method, r.Path, r.Handler)
		}
	}
	h.http = httptest.NewServer(e)
	t.Cleanup(h.http.Close)
	return h
}

// userToken is a full Backstage user token for sub, as the consent page
// sends it.
func (h *harness) userToken(sub string) string {
	h.t.Helper()
	tok, err := h.issuer.IssueToken(context.Background(), identity.Claims{Sub: sub})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok.Token
}

// response is a finished request.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// do sends a request to path (under the server's root, e.g.
// "/api/auth/v1/token") with headers as name, value pairs; redirects are
// not followed.
func (h *harness) do(method, path, contentType, body string, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// form posts url-encoded fields.
func (h *harness) form(path string, v url.Values, headers ...string) response {
	return h.do("POST", path, "application/x-www-form-urlencoded", v.Encode(), headers...)
}

// postJSON posts v as JSON.
func (h *harness) postJSON(path string, v any, headers ...string) response {
	b, _ := json.Marshal(v)
	return h.do("POST", path, "application/json", string(b), headers...)
}

// wantOAuthError checks an OAuth-style error answer.
func wantOAuthError(t *testing.T, r response, status int, code, description string) {
	t.Helper()
	want := `{"error":"` + code + `","error_description":` + jsonString(description) + `}`
	if r.Status != status || r.Body != want {
		t.Errorf("got %d %s\nwant %d %s", r.Status, r.Body, status, want)
	}
}

// jsonString is s as a JSON string the way writeJSON encodes it (no HTML
// escaping).
func jsonString(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}
