package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

// withLog sends the server's log to a buffer the test reads.
func withLog(buf *testlog.Buffer) func(*Options) {
	return func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

func TestTokenCLIJSONExchange(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	code := h.approvedCode(grant{ClientID: testAuthBase + "/.well-known/oauth-client/cli.json"})
	r := h.exchange(code, nil)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Errorf("caching headers: %v", r.Header)
	}
	keys := jsonKeys(t, r.Body)
	if want := "access_token token_type expires_in id_token scope refresh_token"; keys != want {
		t.Errorf("keys %q; want %q", keys, want)
	}
	m := r.JSON(t)
	if m["token_type"] != "Bearer" || m["id_token"] != m["access_token"] || m["scope"] != "openid offline_access" {
		t.Errorf("answer %v", m)
	}
	if got, want := m["expires_in"], h.issuer.Expiration().Seconds(); got != want {
		t.Errorf("expires_in = %v; want the real lifetime %v", got, want)
	}
	v, err := h.issuer.VerifyUserToken(context.Background(), m["access_token"].(string))
	if err != nil || v.Sub != testUser {
		t.Errorf("access token: %+v, %v", v, err)
	}
	rt := m["refresh_token"].(string)
	if id, secret, ok := splitRefreshToken(rt); !ok || len(id) != 36 || len(secret) != 43 {
		t.Errorf("refresh token shape %q", rt)
	}
}

// jsonKeys lists a JSON object's member names in order.
func jsonKeys(t *testing.T, body string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(keys, " ")
}

func TestTokenFormExchangeAndScope(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	code := h.approvedCode(grant{Scope: "openid profile mcp:tools"})
	r := h.form(tokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {testVerifier}, "client_id": {testCIMDClient}})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["scope"] != "openid" || m["refresh_token"] != nil {
		t.Errorf("unknown scopes dropped, no offline_access, no refresh token: %v", m)
	}
}

func TestTokenErrors(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		desc   string
	}{
		{"no grant", map[string]any{}, 400, "invalid_request", `Validation error: Invalid input: expected string, received undefined at "grant_type"`},
		{"empty grant", map[string]any{"grant_type": ""}, 400, "invalid_request", `Validation error: Too small: expected string to have >=1 characters at "grant_type"`},
		{"other grant", map[string]any{"grant_type": "client_credentials"}, 400, "unsupported_grant_type", "Grant type client_credentials is not supported"},
		{"no code", map[string]any{"grant_type": "authorization_code", "redirect_uri": testRedirect}, 400, "invalid_request", "Missing code or redirect_uri parameters for authorization_code grant"},
		{"no redirect", map[string]any{"grant_type": "authorization_code", "code": "x"}, 400, "invalid_request", "Missing code or redirect_uri parameters for authorization_code grant"},
		{"bad redirect", map[string]any{"grant_type": "authorization_code", "code": "x", "redirect_uri": "nope"}, 400, "invalid_request", `Validation error: Invalid URL at "redirect_uri"`},
		{"unknown code", map[string]any{"grant_type": "authorization_code", "code": "x", "redirect_uri": testRedirect}, 400, "invalid_grant", "Invalid authorization code"},
		{"bad resource", map[string]any{"grant_type": "authorization_code", "code": "x", "redirect_uri": testRedirect, "resource": "/relative"}, 400, "invalid_target", "resource must be one absolute URI without a fragment"},
		{"no refresh token", map[string]any{"grant_type": "refresh_token"}, 400, "invalid_request", "Missing refresh_token parameter for refresh_token grant"},
		{"refresh format", map[string]any{"grant_type": "refresh_token", "refresh_token": "a.b.c"}, 400, "invalid_grant", "Invalid refresh token format"},
		{"refresh unknown", map[string]any{"grant_type": "refresh_token", "refresh_token": "a.b"}, 400, "invalid_grant", "Invalid refresh token"},
		{"secret without id", map[string]any{"grant_type": "refresh_token", "refresh_token": "a.b", "client_secret": "s"}, 401, "invalid_client", "Client authentication required"},
		{"unknown client", map[string]any{"grant_type": "refresh_token", "refresh_token": "a.b", "client_id": "nobody"}, 401, "invalid_client", "Invalid client credentials"},
		{"client_id a number", map[string]any{"grant_type": "refresh_token", "client_id": 7}, 400, "invalid_request", `Validation error: Invalid input: expected string, received number at "client_id"`},
		{"cimd with secret", map[string]any{"grant_type": "refresh_token", "refresh_token": "a.b", "client_id": testCIMDClient, "client_secret": "s"}, 401, "invalid_client", "Invalid client credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.postJSON(tokenPath, tt.body)
			wantOAuthErrorRaw(t, r, tt.status, tt.code, tt.desc)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Error("error without no-store")
			}
			if tt.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// The envelope's status is the server package's business; the name
	// says it is Backstage's SyntaxError envelope.
	r := h.do("POST", tokenPath, "application/json", "{bad")
	if !strings.Contains(r.Body, `"name":"SyntaxError"`) {
		t.Errorf("malformed JSON: %d %s", r.Status, r.Body)
	}
}

func TestTokenCodeChecks(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	t.Run("redirect mismatch burns the code", func(t *testing.T) {
		code := h.approvedCode(grant{})
		wantOAuthError(t, h.exchange(code, map[string]any{"redirect_uri": "http://127.0.0.1:9999/callback"}), 400, "invalid_grant", "Redirect URI mismatch")
		wantOAuthError(t, h.exchange(code, nil), 400, "invalid_grant", "Authorization code already used")
	})
	t.Run("not approved", func(t *testing.T) {
		wantOAuthError(t, h.exchange(h.approvedCode(grant{Status: identity.AuthRejected}), nil), 400, "invalid_grant", "Authorization not approved")
	})
	t.Run("verifier required", func(t *testing.T) {
		wantOAuthError(t, h.exchange(h.approvedCode(grant{}), map[string]any{"code_verifier": nil}), 400, "invalid_grant", "Code verifier required for PKCE")
	})
	t.Run("wrong verifier", func(t *testing.T) {
		wrong := strings.Repeat("a", 43)
		wantOAuthError(t, h.exchange(h.approvedCode(grant{}), map[string]any{"code_verifier": wrong}), 400, "invalid_grant", "Invalid code verifier")
	})
	t.Run("verifier syntax", func(t *testing.T) {
		short := "abc"
		wantOAuthError(t, h.exchange(h.approvedCode(grant{Challenge: s256(short), Method: "S256"}), map[string]any{"code_verifier": short}), 400, "invalid_grant", "Invalid code verifier")
	})
	t.Run("plain refused unless allowed", func(t *testing.T) {
		wantOAuthError(t, h.exchange(h.approvedCode(grant{Challenge: testVerifier, Method: "plain"}), nil), 400, "invalid_grant", "Invalid code verifier")
		cfg := testConfig()
		cfg.AllowPlainPKCE = true
		hp := newHarness(t, cfg, nil)
		if r := hp.exchange(hp.approvedCode(grant{Challenge: testVerifier, Method: "plain"}), nil); r.Status != 200 {
			t.Errorf("plain allowed: %d %s", r.Status, r.Body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		code := h.approvedCode(grant{})
		h.clock.Advance(CodeLifetime)
		wantOAuthError(t, h.exchange(code, nil), 400, "invalid_grant", "Authorization code expired")
	})
	t.Run("no user", func(t *testing.T) {
		code := h.approvedCode(grant{Status: identity.AuthPending})
		wantOAuthError(t, h.exchange(code, nil), 400, "invalid_grant", "Authorization not approved")
		err := h.store.CreateCode(context.Background(), identity.AuthCode{Hash: identity.HashSecret("userless"), SessionID: sessionOf(t, h, h.approvedCode(grant{})),
			ClientID: testCIMDClient, RedirectURI: testRedirect, Expires: h.clock.Now().Add(CodeLifetime)})
		if err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, h.exchange("userless", nil), 400, "invalid_grant", "No user associated with authorization")
	})
	t.Run("no refresh token when the document cannot be read", func(t *testing.T) {
		code := h.approvedCode(grant{})
		h.fetcher.mu.Lock()
		h.fetcher.errs[testCIMDClient] = errors.New("gone")
		h.fetcher.mu.Unlock()
		defer func() { h.fetcher.mu.Lock(); delete(h.fetcher.errs, testCIMDClient); h.fetcher.mu.Unlock() }()
		r := h.exchange(code, nil)
		if r.Status != 200 || r.JSON(t)["refresh_token"] != nil {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("session gone", func(t *testing.T) {
		err := h.store.CreateCode(context.Background(), identity.AuthCode{Hash: identity.HashSecret("orphan"), SessionID: "gone",
			ClientID: testCIMDClient, RedirectURI: testRedirect, UserEntityRef: testUser, Expires: h.clock.Now().Add(CodeLifetime)})
		if err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, h.exchange("orphan", nil), 400, "invalid_request", "Invalid authorization session")
	})
	t.Run("foreign client", func(t *testing.T) {
		code := h.approvedCode(grant{})
		r := h.exchange(code, map[string]any{"client_id": testAuthBase + "/.well-known/oauth-client/cli.json"})
		wantOAuthError(t, r, 400, "invalid_grant", "Authorization code was not issued to this client")
	})
	t.Run("resource", func(t *testing.T) {
		code := h.approvedCode(grant{Resource: "https://mcp.example.com/api"})
		wantOAuthError(t, h.exchange(code, map[string]any{"resource": "https://other.example.com/"}), 400, "invalid_target", "The resource does not match the authorization request")
		m := h.tokens(grant{Resource: "https://mcp.example.com/api"}, map[string]any{"resource": "https://mcp.example.com/api"})
		if aud := audience(t, m["access_token"].(string)); aud != `["backstage","https://mcp.example.com/api"]` {
			t.Errorf("aud = %s", aud)
		}
		m = h.tokens(grant{}, nil)
		if aud := audience(t, m["access_token"].(string)); aud != `"backstage"` {
			t.Errorf("aud without resource = %s", aud)
		}
	})
}

// sessionOf redeems code and returns its session id (a way to get a real
// approved session for a hand-made code).
func sessionOf(t *testing.T, h *harness, code string) string {
	t.Helper()
	ac, err := h.store.RedeemCode(context.Background(), identity.HashSecret(code), h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ac.SessionID
}

func TestNewRefusesBadPatterns(t *testing.T) {
	cfg := testConfig()
	cfg.DCR.RedirectURIPatterns = []string{"http://[bad"}
	issuer, _ := identity.NewIssuer(identity.Options{Issuer: cfg.AuthBaseURL})
	if _, err := New(Options{Config: cfg, Store: identity.NewMemoryOAuthStore(), Tokens: issuer, GraceSecret: "x"}); err == nil || !strings.Contains(err.Error(), "redirect URI allowlist") {
		t.Errorf("New = %v", err)
	}
	cfg = testConfig()
	if _, err := New(Options{Config: cfg, Store: identity.NewMemoryOAuthStore(), Tokens: issuer}); err == nil {
		t.Error("refresh tokens on without a grace secret")
	}
}

// wantOAuthErrorRaw is wantOAuthError without HTML escaping in the
// expected description (zod's ">=1").
func wantOAuthErrorRaw(t *testing.T, r response, status int, code, description string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil || r.Status != status || m["error"] != code || m["error_description"] != description || jsonKeys(t, r.Body) != "error error_description" {
		t.Errorf("got %d %s\nwant %d %s: %s", r.Status, r.Body, status, code, description)
	}
}

// audience is the raw aud claim of a JWT.
func audience(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return string(claims["aud"])
}

func TestTokenCodeReplayRevokes(t *testing.T) {
	var logs testlog.Buffer
	h := newHarness(t, testConfig(), withLog(&logs))
	code := h.approvedCode(grant{})
	first := h.exchange(code, nil)
	if first.Status != 200 {
		t.Fatalf("%d %s", first.Status, first.Body)
	}
	rt := first.JSON(t)["refresh_token"].(string)
	wantOAuthError(t, h.exchange(code, nil), 400, "invalid_grant", "Authorization code already used")
	wantOAuthError(t, h.refresh(rt), 400, "invalid_grant", "Invalid refresh token")
	if !strings.Contains(logs.String(), "authorization code replayed") {
		t.Errorf("no warning: %s", logs.String())
	}
	if strings.Contains(logs.String(), code) || strings.Contains(logs.String(), rt) {
		t.Error("a secret reached the log")
	}
}

func TestTokenConcurrentRedemption(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	code := h.approvedCode(grant{})
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.exchange(code, nil).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("statuses %v; want exactly one 200", statuses)
	}
}

func TestTokenDCRClient(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id, secret := h.registerClient(nil)
	g := grant{ClientID: id}
	t.Run("must authenticate", func(t *testing.T) {
		r := h.exchange(h.approvedCode(g), nil)
		wantOAuthError(t, r, 401, "invalid_client", "Client authentication required")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
		wantOAuthError(t, h.exchange(h.approvedCode(g), map[string]any{"client_id": id}), 401, "invalid_client", "Client authentication required")
	})
	t.Run("wrong secret", func(t *testing.T) {
		wantOAuthError(t, h.exchange(h.approvedCode(g), nil, "Authorization", basic(id, "wrong")), 401, "invalid_client", "Invalid client credentials")
	})
	t.Run("basic", func(t *testing.T) {
		m := h.tokens(g, nil, "Authorization", basic(id, secret))
		if m["refresh_token"] == nil {
			t.Errorf("no refresh token for a client registered without grant_types: %v", m)
		}
	})
	t.Run("post", func(t *testing.T) {
		h.tokens(g, map[string]any{"client_id": id, "client_secret": secret})
	})
	t.Run("another client's code", func(t *testing.T) {
		id2, secret2 := h.registerClient(nil)
		wantOAuthError(t, h.exchange(h.approvedCode(g), nil, "Authorization", basic(id2, secret2)), 400, "invalid_grant", "Authorization code was not issued to this client")
	})
	t.Run("no refresh_token grant", func(t *testing.T) {
		id3, secret3 := h.registerClient(map[string]any{"redirect_uris": []string{testRedirect}, "grant_types": []string{"authorization_code"}})
		m := h.tokens(grant{ClientID: id3}, nil, "Authorization", basic(id3, secret3))
		if m["refresh_token"] != nil {
			t.Errorf("refresh token for a client without the grant: %v", m)
		}
	})
	t.Run("lapsed registration", func(t *testing.T) {
		code := h.approvedCode(g)
		h.clock.Advance(DefaultClientIdleLifetime + time.Hour)
		defer h.clock.Advance(-(DefaultClientIdleLifetime + time.Hour))
		wantOAuthError(t, h.exchange(code, nil, "Authorization", basic(id, secret)), 401, "invalid_client", "Invalid client credentials")
	})
}

func TestBasicCredentials(t *testing.T) {
	tests := []struct {
		header, id, secret string
		ok                 bool
	}{
		{basic("c1", "s:e%c+r t"), "c1", "s:e%c+r t", true},
		{"basic  " + base64.StdEncoding.EncodeToString([]byte("a:b")), "a", "b", true},
		{"Basic " + base64.RawURLEncoding.EncodeToString([]byte("a:b?>")), "a", "b?>", true},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte(":b")), "", "", false},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("a:")), "", "", false},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("ab")), "", "", false},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b")), "", "", false},
		{"Bearer x", "", "", false},
		{"Basic !!!", "", "", false},
		{"Basic a b", "", "", false},
	}
	for _, tt := range tests {
		id, secret, ok := parseBasic(tt.header)
		if id != tt.id || secret != tt.secret || ok != tt.ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v", tt.header, id, secret, ok)
		}
	}
}

func TestTokenStoreFailureHidesDetail(t *testing.T) {
	var logs testlog.Buffer
	h := newHarness(t, testConfig(), func(o *Options) {
		withLog(&logs)(o)
		o.Store = failingStore{o.Store}
	})
	r := h.exchange("x", nil)
	if r.Status != 500 || strings.Contains(r.Body, "disk on fire") || !strings.Contains(r.Body, "An internal error occurred") {
		t.Errorf("%d %s", r.Status, r.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Error("the detail is not logged")
	}
}

// failingStore fails code redemption with an internal error.
type failingStore struct{ identity.OAuthStore }

func (failingStore) RedeemCode(context.Context, string, time.Time) (identity.AuthCode, error) {
	return identity.AuthCode{}, errors.New("disk on fire")
}
