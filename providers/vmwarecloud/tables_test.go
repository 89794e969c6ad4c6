package vmwarecloud

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// fakeConsole is an httptest VMware Cloud Services console: its token
// endpoint answers what a test sets, and its JWKS endpoint publishes key
// (built with go-jose). It records the token requests it gets.
type fakeConsole struct {
	srv *httptest.Server
	key devidptest.Key

	mu       sync.Mutex
	answer   http.HandlerFunc
	requests []recorded
}

// recorded is a token request as the console got it.
type recorded struct {
	header http.Header
	body   string
}

func newFakeConsole(t *testing.T) *fakeConsole {
	t.Helper()
	c := &fakeConsole{key: devidptest.SharedKey(t, "csp-1")}
	mux := http.NewServeMux()
	mux.HandleFunc(tokenPath, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.requests = append(c.requests, recorded{r.Header.Clone(), string(body)})
		answer := c.answer
		c.mu.Unlock()
		answer(w, r)
	})
	mux.HandleFunc("/csp/gateway/am/api/auth/token-public-key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(devidptest.JWKS(c.key))
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

func (c *fakeConsole) set(answer http.HandlerFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer = answer
}

// claims are a good CSP ID token's claims for testClient, changed by mutate.
func (c *fakeConsole) claims(mutate func(map[string]any)) map[string]any {
	now := time.Now()
	claims := map[string]any{"iss": "https://gaz.csp-vidm-prod.com", "sub": "alice", "aud": testClient,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "context_name": testOrg}
	if mutate != nil {
		mutate(claims)
	}
	return claims
}

func (c *fakeConsole) provider(t *testing.T, verify bool) *Provider {
	t.Helper()
	p, err := New(Config{ClientID: testClient, OrganizationID: testOrg, ConsoleEndpoint: c.srv.URL + "/", CallbackURL: testCallback, VerifySignature: verify})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenAnswer answers with a JSON token response carrying idToken ("" for none).
func tokenAnswer(idToken string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 1799, "scope": "openid offline_access"}
		if idToken != "" {
			doc["id_token"] = idToken
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}
}

func codeCallback() providers.CallbackRequest {
	return providers.CallbackRequest{Params: url.Values{"code": {"code-1"}}, Transaction: providers.Transaction{CodeVerifier: "verifier-1"}}
}

// TestAuthenticateSendsBackstagesTokenRequest: the code exchange is the
// request Backstage's module sends byte for byte: form fields in its order,
// an empty client_secret, and Basic base64("<clientId>:").
func TestAuthenticateSendsBackstagesTokenRequest(t *testing.T) {
	c := newFakeConsole(t)
	c.set(tokenAnswer(c.key.Sign(t, jose.RS256, c.claims(nil))))
	res, err := c.provider(t, false).Authenticate(t.Context(), codeCallback())
	if err != nil {
		t.Fatal(err)
	}
	r := c.requests[0]
	wantBody := "grant_type=authorization_code&redirect_uri=" + url.QueryEscape(testCallback) + "&code_verifier=verifier-1&client_id=" + testClient + "&client_secret=&code=code-1"
	if r.body != wantBody {
		t.Errorf("token body %s, want %s", r.body, wantBody)
	}
	if got, want := r.header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte(testClient+":")); got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
	if r.header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.header.Get("Accept") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	s := res.Session
	if s.AccessToken != "at-1" || s.TokenType != "bearer" || s.RefreshToken != "rt-1" || s.ExpiresInSeconds != 1799 || s.Scope != "openid offline_access" {
		t.Errorf("session %+v", s)
	}
	if res.IDTokenClaims["sub"] != "alice" || res.Attributes["organizationId"] != testOrg {
		t.Errorf("claims %v, attributes %v", res.IDTokenClaims, res.Attributes)
	}
}

// TestAuthenticateCallbackParams: the console's error is a rejection for
// access_denied and a failure otherwise, with its description as the
// message; a callback without code or without the sealed verifier is
// refused before any token request.
func TestAuthenticateCallbackParams(t *testing.T) {
	c := newFakeConsole(t)
	p := c.provider(t, false)
	for _, tc := range []struct {
		req  providers.CallbackRequest
		want string
	}{
		{providers.CallbackRequest{Params: url.Values{"error": {"access_denied"}}}, "Authentication rejected, access_denied"},
		{providers.CallbackRequest{Params: url.Values{"error": {"access_denied"}, "error_description": {"User cancelled"}}}, "Authentication rejected, User cancelled"},
		{providers.CallbackRequest{Params: url.Values{"error": {"server_error"}}}, "Authentication failed, server_error"},
		{providers.CallbackRequest{Params: url.Values{"state": {"s"}}}, "the callback carries no code"},
		{providers.CallbackRequest{Params: url.Values{"code": {"c"}}}, "Unable to verify authorization request state."},
	} {
		_, err := p.Authenticate(t.Context(), tc.req)
		devidptest.WantError(t, err, autherr.NameAuthentication, tc.want)
	}
	if len(c.requests) != 0 {
		t.Errorf("%d token requests", len(c.requests))
	}
}

// TestTokenEndpointAnswers: how each token-endpoint answer reaches the
// user at sign-in: the console's own message when it sends one, else the
// status and content type; 5xx and an unreachable console are
// ServiceUnavailable; a query-string answer is read as node-oauth reads it.
func TestTokenEndpointAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  http.HandlerFunc
		errName string
		want    string
	}{
		{"message", devidptest.Answer(400, "application/json", `{"message":"The code is expired"}`), autherr.NameAuthentication,
			"Authentication failed, Failed to obtain access token - The code is expired"},
		{"OAuth error with description", devidptest.Answer(400, "application/json", `{"error":"invalid_grant","error_description":"bad verifier"}`),
			autherr.NameAuthentication, "Failed to obtain access token - bad verifier"},
		{"OAuth error alone", devidptest.Answer(401, "application/json", `{"error":"invalid_client"}`), autherr.NameAuthentication, "- invalid_client"},
		{"HTML 502", devidptest.Answer(502, "text/html", "<html>"), autherr.NameServiceUnavailable, "the token endpoint answered HTTP 502 (text/html)"},
		{"empty 400", devidptest.Answer(400, "", ""), autherr.NameAuthentication, "the token endpoint answered HTTP 400 (no content type)"},
		{"200 HTML", devidptest.Answer(200, "text/html", "<html>"), autherr.NameAuthentication, "the token endpoint answered text/html, not JSON"},
		{"200 without access_token", devidptest.Answer(200, "application/json", `{"token_type":"bearer"}`), autherr.NameAuthentication,
			"Authentication failed, Failed to obtain access token"},
		{"query-string answer", devidptest.Answer(200, "text/plain", "access_token=at-q&token_type=Bearer&refresh_token=rt-q&expires_in=60"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeConsole(t)
			c.set(tc.answer)
			res, err := c.provider(t, false).Authenticate(t.Context(), codeCallback())
			devidptest.WantError(t, err, tc.errName, tc.want)
			if err == nil && (res.Session.AccessToken != "at-q" || res.Session.ExpiresInSeconds != 60 || res.Session.TokenType != "Bearer" || res.IDTokenClaims != nil) {
				t.Errorf("result %+v", res)
			}
		})
	}
	t.Run("unreachable console", func(t *testing.T) {
		p, err := New(Config{ClientID: testClient, OrganizationID: testOrg, ConsoleEndpoint: "http://127.0.0.1:1", CallbackURL: testCallback})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Authenticate(t.Context(), codeCallback())
		devidptest.WantError(t, err, autherr.NameServiceUnavailable, "the token endpoint http://127.0.0.1:1/csp/gateway/am/api/auth/token is unreachable")
	})
}

// TestIDTokens is the table of signed ID tokens, with signature
// verification off (Backstage's default: the claims are decoded, not
// verified) and on (go-oidc against the console's JWKS).
func TestIDTokens(t *testing.T) {
	c := newFakeConsole(t)
	stranger := devidptest.NewKey(t, "csp-1")
	unknown := devidptest.NewKey(t, "csp-unknown")
	sign := func(mutate func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string { return c.key.Sign(t, jose.RS256, c.claims(mutate)) }
	}
	for _, tc := range []struct {
		name     string
		token    func(t *testing.T) string
		unsigned string // error without verification: "" accepted, else AuthenticationError
		verified string // error with verification
	}{
		{name: "good token", token: sign(nil)},
		{name: "expired", token: sign(func(m map[string]any) { m["exp"] = time.Now().Add(-time.Hour).Unix() }), verified: "token is expired"},
		{name: "aud of another client", token: sign(func(m map[string]any) { m["aud"] = "other-client" }), verified: "expected audience"},
		{name: "no iat", token: sign(func(m map[string]any) { delete(m, "iat") }), unsigned: "ID token has no iat claim", verified: "ID token has no iat claim"},
		{name: "azp of another client", token: sign(func(m map[string]any) { m["azp"] = "other-client" }),
			unsigned: `ID token azp "other-client" is not this client`, verified: `ID token azp "other-client" is not this client`},
		{name: "signature by another key under the console's kid", token: func(t *testing.T) string {
			return stranger.Sign(t, jose.RS256, c.claims(nil))
		}, verified: "failed to verify signature"},
		{name: "kid the JWKS does not publish", token: func(t *testing.T) string {
			return unknown.Sign(t, jose.RS256, c.claims(nil))
		}, verified: "failed to verify signature"},
		{name: "alg RS384", token: func(t *testing.T) string {
			return c.key.Sign(t, jose.RS384, c.claims(nil))
		}, verified: `unexpected signature algorithm "RS384"`},
	} {
		for _, verify := range []bool{false, true} {
			want := tc.unsigned
			name := tc.name + ", decoded"
			if verify {
				want, name = tc.verified, tc.name+", verified"
			}
			t.Run(name, func(t *testing.T) {
				c.set(tokenAnswer(tc.token(t)))
				res, err := c.provider(t, verify).Authenticate(t.Context(), codeCallback())
				devidptest.WantError(t, err, autherr.NameAuthentication, want)
				if err == nil && res.IDTokenClaims["context_name"] != testOrg {
					t.Errorf("claims %v", res.IDTokenClaims)
				}
			})
		}
	}
}

// TestUndecodableIDToken: without verification, an ID token that is not a
// compact JWS or whose payload is not a JSON object fails as Backstage's
// module fails, and alg "none" is decoded as jose.decodeJwt decodes it.
func TestUndecodableIDToken(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, token, want string
	}{
		{"two parts", "a.b", "Failed to parse id token and get profile info, Invalid JWT"},
		{"payload not base64url", b64([]byte(`{"alg":"RS256"}`)) + ".!!.c2ln", "Failed to parse id token and get profile info, Invalid JWT"},
		{"payload an array", b64([]byte(`{"alg":"RS256"}`)) + "." + b64([]byte(`[1]`)) + ".c2ln", "Invalid JWT: the payload is not a JSON object"},
		{"alg none", b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"sub":"alice","iat":`+strconv.FormatInt(now, 10)+`}`)) + ".", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeConsole(t)
			c.set(tokenAnswer(tc.token))
			res, err := c.provider(t, false).Authenticate(t.Context(), codeCallback())
			devidptest.WantError(t, err, autherr.NameError, tc.want)
			if err == nil && res.IDTokenClaims["sub"] != "alice" {
				t.Errorf("claims %v", res.IDTokenClaims)
			}
		})
	}
}

// TestRefresh: the refresh request is Backstage's (scope first, empty
// client_secret); a refused refresh keeps the console's message as the
// cause, and an answer without access token is an error.
func TestRefresh(t *testing.T) {
	c := newFakeConsole(t)
	p := c.provider(t, false)
	c.set(tokenAnswer(c.key.Sign(t, jose.RS256, c.claims(nil))))
	res, err := p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0", Scope: "openid offline_access"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "scope=openid%20offline_access&grant_type=refresh_token&client_id=" + testClient + "&client_secret=&refresh_token=rt-0"; c.requests[0].body != want {
		t.Errorf("refresh body %s, want %s", c.requests[0].body, want)
	}
	if res.Session.AccessToken != "at-1" || res.IDTokenClaims["sub"] != "alice" {
		t.Errorf("result %+v", res)
	}

	c.set(devidptest.Answer(400, "application/json", `{"message":"refresh token expired"}`))
	_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0"})
	devidptest.WantError(t, err, autherr.NameAuthentication, "Failed to refresh access token; caused by Error: refresh token expired")

	c.set(devidptest.Answer(200, "application/json", `{}`))
	_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0"})
	devidptest.WantError(t, err, autherr.NameError, "Failed to refresh access token, no access token received")
}

// TestNewDefaults: the console defaults to console.cloud.vmware.com, a
// jwksUrl alone turns verification on, and a callback URL is required.
func TestNewDefaults(t *testing.T) {
	p, err := New(Config{ClientID: "c", OrganizationID: "o", CallbackURL: "http://x/cb"})
	if err != nil || p.cfg.ConsoleEndpoint != "https://console.cloud.vmware.com" || p.verifier != nil || p.cfg.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v, %v", p, err)
	}
	if p, err := New(Config{ClientID: "c", OrganizationID: "o", CallbackURL: "http://x/cb", JWKSURL: "http://127.0.0.1:1/keys"}); err != nil || p.verifier == nil {
		t.Errorf("jwksUrl without verifyIdTokenSignature: verifier %v, %v", p.verifier, err)
	}
	if _, err := New(Config{ClientID: "c", OrganizationID: "o"}); err == nil || !strings.Contains(err.Error(), "a callback URL is required") {
		t.Errorf("no callback URL: %v", err)
	}
	if s := p.Scopes(); strings.Join(s.Required, " ") != "openid offline_access" || s.Persist {
		t.Errorf("Scopes() = %+v", s)
	}
}
