package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
)

func TestAuthorizeValidationIsOAuthStyle(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	for _, tc := range []struct {
		query url.Values
		want  string
	}{
		{url.Values{}, `Validation error: Invalid input: expected string, received undefined at "client_id"; Invalid input: expected string, received undefined at "redirect_uri"; Invalid input: expected string, received undefined at "response_type"`},
		{with(cimdQuery(), "redirect_uri", "not a url"), `Validation error: Invalid URL at "redirect_uri"`},
		{with(cimdQuery(), "client_id", ""), `Validation error: Too small: expected string to have >=1 characters at "client_id"`},
		{with(cimdQuery(), "state", "a", "b"), `Validation error: Invalid input: expected string, received array at "state"`},
	} {
		// Decoded, not wantOAuthError: its expected JSON escapes ">".
		r := h.authorize(tc.query)
		if m := r.JSON(t); r.Status != 400 || m["error"] != CodeInvalidRequest || m["error_description"] != tc.want {
			t.Errorf("%d %s\nwant %s", r.Status, r.Body, tc.want)
		}
	}
}

// TestAuthorizeErrors covers every envelope error of spec §2.5 and
// Gatehouse's stricter rules; none redirects.
func TestAuthorizeErrors(t *testing.T) {
	noCIMD := testConfig()
	noCIMD.CIMD.Enabled = false
	noDCR := testConfig()
	noDCR.DCR.Enabled = false
	plainOK := testConfig()
	plainOK.AllowPlainPKCE = true
	const loopback = "http://127.0.0.1:9999/callback"
	doc := func(id string, grants ...string) *cimd.Client {
		return &cimd.Client{ID: id, RedirectURIs: []string{loopback}, GrantTypes: grants, ResponseTypes: []string{"code"}}
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		setup func(h *harness)
		query url.Values
		want  string
	}{
		{"response_type", testConfig(), nil, with(cimdQuery(), "response_type", "token"), "Only authorization code flow is supported"},
		{"CIMD off", noCIMD, nil, cimdQuery(), "Client ID metadata documents not enabled"},
		{"outside the allowlist", testConfig(), nil, with(cimdQuery(), "client_id", "https://evil.example.org/client.json"), "Invalid client_id 'https://evil.example.org/client.json'"},
		{"fetch failed", testConfig(), nil, with(cimdQuery(), "client_id", "https://client.example.net/oauth/missing.json"), "Failed to fetch client metadata"},
		{"internal fetch detail hidden", testConfig(), func(h *harness) {
			h.fetcher.errs[testCIMDClient] = errors.New("dial tcp 10.1.2.3:443: secret detail")
		}, cimdQuery(), "Failed to fetch client metadata"},
		{"private address", testConfig(), func(h *harness) {
			h.fetcher.errs[testCIMDClient] = fmt.Errorf("%w: %w", cimd.ErrFetch, cimd.ErrBlockedAddress)
		}, cimdQuery(), "Invalid client_id URL"},
		{"document client_id mismatch", testConfig(), func(h *harness) {
			h.fetcher.errs[testCIMDClient] = &cimd.FieldError{Field: "client_id", Reason: "must equal the URL"}
		}, cimdQuery(), "Client ID mismatch in metadata document"},
		{"document other field", testConfig(), func(h *harness) {
			h.fetcher.errs[testCIMDClient] = &cimd.FieldError{Field: "scope", Reason: "must be a string"}
		}, cimdQuery(), "Invalid client metadata document: scope: must be a string"},
		{"too large", testConfig(), func(h *harness) { h.fetcher.errs[testCIMDClient] = cimd.ErrTooLarge }, cimdQuery(), "Client metadata document too large"},
		{"no authorization_code grant", testConfig(), func(h *harness) {
			h.fetcher.clients[testCIMDClient] = doc(testCIMDClient, cimd.GrantRefreshToken)
		}, cimdQuery(), "Invalid client metadata document: grant_types must include authorization_code"},
		{"redirect outside the patterns", testConfig(), nil, with(cimdQuery(), "redirect_uri", "https://evil.example/cb?x=1"), "Invalid redirect_uri 'https://evil.example/cb'"},
		{"redirect with credentials", testConfig(), nil, with(cimdQuery(), "redirect_uri", "http://u:p@127.0.0.1:9999/callback"), "Invalid redirect_uri 'http://127.0.0.1:9999/callback'"},
		{"redirect not registered", testConfig(), nil, with(cimdQuery(), "redirect_uri", "http://127.0.0.1:9999/other"), "Invalid redirect_uri 'http://127.0.0.1:9999/other', not registered in client metadata"},
		{"loopback query must match", testConfig(), nil, with(cimdQuery(), "redirect_uri", "http://127.0.0.1:9999/callback?evil=1"), "Invalid redirect_uri 'http://127.0.0.1:9999/callback?evil=1', not registered in client metadata"},
		{"DCR unknown", testConfig(), nil, dcrQuery(), "Invalid client_id"},
		{"DCR off", noDCR, func(h *harness) { h.registerDCR("http://127.0.0.1:5000/cb") }, dcrQuery(), "Invalid client_id"},
		{"DCR expired", testConfig(), func(h *harness) {
			_ = h.store.CreateClient(context.Background(), identity.OAuthClient{ID: testDCRClient, RedirectURIs: []string{"http://127.0.0.1:5000/cb"}, Expires: h.clock.Now()})
		}, dcrQuery(), "Invalid client_id"},
		{"DCR redirect", testConfig(), func(h *harness) { h.registerDCR("http://127.0.0.1:5000/cb") }, with(dcrQuery(), "redirect_uri", "http://127.0.0.1:5001/cb"), "Invalid redirect_uri 'http://127.0.0.1:5001/cb'"},
		{"PKCE missing, CIMD", testConfig(), nil, with(cimdQuery(), "code_challenge"), "PKCE is required for public clients. Provide a code_challenge parameter."},
		{"PKCE missing, DCR", testConfig(), func(h *harness) { h.registerDCR("http://127.0.0.1:5000/cb") }, with(dcrQuery(), "code_challenge"), "PKCE is required for all clients. Provide a code_challenge parameter."},
		{"plain refused", testConfig(), nil, with(with(cimdQuery(), "code_challenge_method", "plain"), "code_challenge", testVerifier), "Invalid code_challenge_method"},
		{"method missing", testConfig(), nil, with(cimdQuery(), "code_challenge_method"), "Invalid code_challenge_method"},
		{"method case", testConfig(), nil, with(cimdQuery(), "code_challenge_method", "s256"), "Invalid code_challenge_method"},
		{"S256 shape", testConfig(), nil, with(cimdQuery(), "code_challenge", "short"), "Invalid code_challenge: S256 requires 43 base64url characters"},
		{"plain shape", plainOK, nil, with(with(cimdQuery(), "code_challenge_method", "plain"), "code_challenge", "short"), "Invalid code_challenge: plain requires 43 to 128 characters of A-Z a-z 0-9 - . _ ~"},
		{"resource relative", testConfig(), nil, with(cimdQuery(), "resource", "/mcp"), "Invalid resource '/mcp': it must be an absolute URI without a fragment"},
		{"resource fragment", testConfig(), nil, with(cimdQuery(), "resource", "https://mcp.example.com/#x"), "Invalid resource 'https://mcp.example.com/#x': it must be an absolute URI without a fragment"},
		{"resource twice", testConfig(), nil, with(cimdQuery(), "resource", "https://a.example/", "https://b.example/"), "Invalid resource: only one resource parameter is supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg, nil)
			if tc.setup != nil {
				tc.setup(h)
			}
			wantEnvelope(t, h.authorize(tc.query), 400, "InputError", tc.want)
		})
	}
}

func TestAuthorizeCreatesSession(t *testing.T) {
	plainOK := testConfig()
	plainOK.AllowPlainPKCE = true
	portal := testConfig()
	portal.AppBaseURL = "https://bs.example.com/portal/"
	for _, tc := range []struct {
		name     string
		cfg      Config
		dcr      bool
		query    url.Values
		location string // consent page prefix
		want     identity.AuthSession
	}{
		{"7.a CIMD", testConfig(), false, cimdQuery(), testAppBase + "/oauth2/authorize/", identity.AuthSession{
			ClientID: testCIMDClient, RedirectURI: "http://127.0.0.1:9999/callback", Scope: "openid offline_access",
			CodeChallenge: testChallenge, CodeChallengeMethod: "S256", State: "st1", Nonce: "n1"}},
		{"7.b DCR, app path kept", portal, true, dcrQuery(), "https://bs.example.com/portal/oauth2/authorize/", identity.AuthSession{
			ClientID: testDCRClient, RedirectURI: "http://127.0.0.1:5000/cb", Scope: "openid offline_access",
			CodeChallenge: testChallenge, CodeChallengeMethod: "S256", State: "xyz"}},
		{"plain allowed, redirect trimmed, resource", plainOK, false,
			with(with(with(with(cimdQuery(), "code_challenge_method", "plain"), "code_challenge", testVerifier),
				"resource", "https://mcp.example.com/mcp"), "redirect_uri", " http://127.0.0.1:9999/callback "),
			testAppBase + "/oauth2/authorize/", identity.AuthSession{
				ClientID: testCIMDClient, RedirectURI: "http://127.0.0.1:9999/callback", Scope: "openid offline_access",
				CodeChallenge: testVerifier, CodeChallengeMethod: "plain", State: "st1", Nonce: "n1", Resource: "https://mcp.example.com/mcp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg, nil)
			if tc.dcr {
				h.registerDCR("http://127.0.0.1:5000/cb")
			}
			r := h.authorize(tc.query)
			loc := r.Header.Get("Location")
			if r.Status != 302 || !strings.HasPrefix(loc, tc.location) || r.Body != "Found. Redirecting to "+loc {
				t.Fatalf("%d %q %q", r.Status, loc, r.Body)
			}
			got, err := h.store.GetAuthSession(context.Background(), strings.TrimPrefix(loc, tc.location))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.ID, tc.want.Status = got.ID, identity.AuthPending
			tc.want.Expires = h.clock.Now().Add(AuthSessionLifetime)
			if !got.Expires.Equal(tc.want.Expires) {
				t.Errorf("expires %v, want %v", got.Expires, tc.want.Expires)
			}
			got.Expires = tc.want.Expires
			if got != tc.want {
				t.Errorf("session\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestAuthorizeCLIWithoutFetch: the CLI's client id is resolved from
// memory, also on an http://localhost deployment.
func TestAuthorizeCLIWithoutFetch(t *testing.T) {
	local := testConfig()
	local.AuthBaseURL = "http://localhost:7007/api/auth"
	local.CIMD.ClientIDPatterns = cimd.ClientIDAllowlist(nil, local.CLIClientID())
	for _, cfg := range []Config{testConfig(), local} {
		h := newHarness(t, cfg, nil)
		q := with(with(cimdQuery(), "client_id", cfg.CLIClientID()), "redirect_uri", CLIRedirectURI)
		id := h.startSession(q)
		r := h.do("GET", "/api/auth/v1/sessions/"+id, "", "")
		if want := `{"id":"` + id + `","clientId":"` + cfg.CLIClientID() + `","clientName":"Backstage CLI","scope":"openid offline_access","redirectUri":"` + CLIRedirectURI + `"}`; r.Body != want {
			t.Errorf("session %s\nwant %s", r.Body, want)
		}
		if h.fetcher.calls != 0 {
			t.Errorf("%s: %d fetches, want none", cfg.AuthBaseURL, h.fetcher.calls)
		}
	}
}

func TestAuthorizeHTMLRedirect(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	r := h.authorize(cimdQuery(), "Accept", "text/html,application/xhtml+xml")
	loc := r.Header.Get("Location")
	if r.Status != 302 || r.Body != "<p>Found. Redirecting to "+loc+"</p>" || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("%d %q %q", r.Status, r.Header, r.Body)
	}
}

func TestNewRefusesBadPatterns(t *testing.T) {
	for _, edit := range []func(*Config){
		func(c *Config) { c.CIMD.ClientIDPatterns = []string{"claude.ai/*"} },
		func(c *Config) { c.CIMD.RedirectURIPatterns = []string{"http://"} },
		func(c *Config) { c.AppBaseURL = "" },
	} {
		cfg := testConfig()
		edit(&cfg)
		if _, err := New(Options{Config: cfg, Store: identity.NewMemoryOAuthStore(), Tokens: &identity.Issuer{}}); err == nil {
			t.Errorf("New accepted %+v", cfg.CIMD)
		}
	}
}

// FuzzAuthorizeQuery: no query makes /v1/authorize panic, answer 5xx or
// redirect anywhere but the consent page.
func FuzzAuthorizeQuery(f *testing.F) {
	f.Add(cimdQuery().Encode())
	f.Add(dcrQuery().Encode())
	f.Add("client_id=%zz&redirect_uri=%00")
	f.Add(with(cimdQuery(), "resource", "urn:x y").Encode())
	f.Add("client_id=a&client_id=b&redirect_uri[x]=1&response_type=code")
	h := newHarness(&testing.T{}, testConfig(), nil)
	h.registerDCR("http://127.0.0.1:5000/cb")
	f.Fuzz(func(t *testing.T, query string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/auth/v1/authorize", nil)
		req.URL.RawQuery = query
		h.http.Config.Handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusFound:
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, testAppBase+"/oauth2/authorize/") {
				t.Fatalf("redirect to %q", loc)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestAuthorizeHead: the handler serves HEAD as Express does (spec §2.0.5)
// once a HEAD route is mounted; Routes mounts GET only.
func TestAuthorizeHead(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	e := echo.New()
	e.HEAD("/v1/authorize", h.srv.authorize)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("HEAD", "/v1/authorize?"+cimdQuery().Encode(), nil))
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), testAppBase+"/oauth2/authorize/") {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
}
