package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
)

// callback is a successful authorization response with the transaction
// the fake IdP's tokens match.
func callback() providers.CallbackRequest {
	return providers.CallbackRequest{Params: url.Values{"code": {"code-1"}}, Transaction: providers.Transaction{Nonce: testNonce, CodeVerifier: "verifier-1"}}
}

// TestAuthenticateRefusesBadIDTokens is go-oidc's table of signed tokens:
// each row's ID token is signed by the fake IdP (or a key it does not
// publish) and must be accepted or refused as an AuthenticationError.
func TestAuthenticateRefusesBadIDTokens(t *testing.T) {
	f := newFakeIdP(t)
	stranger := devidptest.NewKey(t, "k1") // same kid as the IdP's key, other key
	unknown := devidptest.NewKey(t, "k-unknown")
	for _, c := range []struct {
		name  string
		token func(t *testing.T) string
		want  string
	}{
		{"good token is accepted", func(t *testing.T) string { return f.idToken(t, nil) }, ""},
		{"iss of another issuer", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["iss"] = "https://evil.example" })
		}, "issued by a different provider"},
		{"aud of another client", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["aud"] = "other-client" })
		}, "expected audience"},
		{"expired", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })
		}, "token is expired"},
		{"nbf in the future", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })
		}, "before the nbf"},
		{"nonce of another sign-in", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["nonce"] = "nonce-2" })
		}, "ID token nonce mismatch"},
		{"no nonce", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { delete(c, "nonce") })
		}, "ID token nonce mismatch"},
		{"no iat", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { delete(c, "iat") })
		}, "ID token has no iat claim"},
		{"azp of another client", func(t *testing.T) string {
			return f.idToken(t, func(c map[string]any) { c["azp"] = "other-client" })
		}, `ID token azp "other-client" is not this client`},
		{"alg RS384 where RS256 is configured", func(t *testing.T) string {
			return f.key.Sign(t, jose.RS384, f.claims(nil))
		}, `unexpected signature algorithm "RS384"; expected ["RS256"]`},
		{"signature by another key under the IdP's kid", func(t *testing.T) string {
			return stranger.Sign(t, jose.RS256, f.claims(nil))
		}, "failed to verify signature"},
		{"kid the JWKS does not publish", func(t *testing.T) string {
			return unknown.Sign(t, jose.RS256, f.claims(nil))
		}, "failed to verify signature"},
		{"not a JWT", func(t *testing.T) string { return "not-a-jwt" }, "ID token verification failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set(func(f *fakeIdP) { f.token = tokenJSON(c.token(t)) })
			res, err := f.provider(t, nil).Authenticate(t.Context(), callback())
			devidptest.WantError(t, err, autherr.NameAuthentication, c.want)
			if err == nil && (res.IDTokenClaims["sub"] != "alice" || res.UserInfo["email"] != "alice@example.com") {
				t.Errorf("claims %v, userinfo %v", res.IDTokenClaims, res.UserInfo)
			}
		})
	}
}

// TestAuthenticateConfiguredAlg: tokenSignedResponseAlg names the one alg
// accepted, so a PS256 IdP works once configured and RS256 is then refused.
func TestAuthenticateConfiguredAlg(t *testing.T) {
	f := newFakeIdP(t)
	p := f.provider(t, func(cfg *oidc.Config) { cfg.TokenSignedResponseAlg = "PS256" })
	f.set(func(f *fakeIdP) { f.token = tokenJSON(f.key.Sign(t, jose.PS256, f.claims(nil))) })
	if _, err := p.Authenticate(t.Context(), callback()); err != nil {
		t.Fatalf("PS256 token refused: %v", err)
	}
	f.set(func(f *fakeIdP) { f.token = nil })
	_, err := p.Authenticate(t.Context(), callback())
	devidptest.WantError(t, err, autherr.NameAuthentication, `unexpected signature algorithm "RS256"; expected ["PS256"]`)
}

// TestAuthenticateSendsTheCodeAndVerifier: the token request carries the
// code, the PKCE verifier from the transaction and the redirect URI, with
// the client authenticated as tokenEndpointAuthMethod says.
func TestAuthenticateSendsTheCodeAndVerifier(t *testing.T) {
	for _, method := range []string{"", "client_secret_basic", "client_secret_post"} {
		t.Run("method="+method, func(t *testing.T) {
			f := newFakeIdP(t)
			p := f.provider(t, func(cfg *oidc.Config) { cfg.TokenEndpointAuthMethod = method })
			res, err := p.Authenticate(t.Context(), callback())
			if err != nil {
				t.Fatal(err)
			}
			r := f.tokenForms[0]
			if r.PostForm.Get("code") != "code-1" || r.PostForm.Get("code_verifier") != "verifier-1" || r.PostForm.Get("redirect_uri") != testCallback {
				t.Errorf("token form %v", r.PostForm)
			}
			user, pass, basic := r.BasicAuth()
			if method == "client_secret_post" {
				if basic || r.PostForm.Get("client_id") != testClient || r.PostForm.Get("client_secret") != testSecret {
					t.Errorf("client_secret_post sent basic=%v form %v", basic, r.PostForm)
				}
			} else if !basic || user != testClient || pass != testSecret {
				t.Errorf("client_secret_basic sent %q:%q (basic=%v)", user, pass, basic)
			}
			s := res.Session
			if s.AccessToken != "at-1" || s.RefreshToken != "rt-1" || s.TokenType != "Bearer" || s.Scope != "openid profile email" ||
				s.ExpiresInSeconds < 290 || s.ExpiresInSeconds > 300 || s.IDToken == "" {
				t.Errorf("session %+v", s)
			}
		})
	}
}

// TestAuthenticateTokenEndpointFailures: a failed code exchange names the
// status and the OAuth error, never the body; 5xx and an unreachable
// endpoint are ServiceUnavailable, the rest AuthenticationError.
func TestAuthenticateTokenEndpointFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer http.HandlerFunc
		errKey string
		want   string
	}{
		{"invalid_grant with a description", devidptest.Answer(400, "application/json", `{"error":"invalid_grant","error_description":"code expired"}`),
			autherr.NameAuthentication, "Authentication failed, token endpoint answered HTTP 400: invalid_grant (code expired)"},
		{"401 without an OAuth error", devidptest.Answer(401, "text/plain", "secret body"), autherr.NameAuthentication, "token endpoint answered HTTP 401"},
		{"server error", devidptest.Answer(503, "text/plain", "down"), autherr.NameServiceUnavailable, "token endpoint answered HTTP 503"},
		{"no access_token", devidptest.Answer(200, "application/json", `{"token_type":"Bearer"}`), autherr.NameAuthentication, "missing access_token"},
		{"no id_token", tokenJSON(""), autherr.NameAuthentication, "the token response carries no id_token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.set(func(f *fakeIdP) { f.token = c.answer })
			_, err := f.provider(t, nil).Authenticate(t.Context(), callback())
			devidptest.WantError(t, err, c.errKey, c.want)
			if err != nil && strings.Contains(err.Error(), "secret body") {
				t.Errorf("error echoes the body: %v", err)
			}
		})
	}
	t.Run("unreachable token endpoint", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(func(f *fakeIdP) {
			f.metadata = func(m map[string]any) { m["token_endpoint"] = "http://127.0.0.1:1/token" }
		})
		_, err := f.provider(t, nil).Authenticate(t.Context(), callback())
		devidptest.WantError(t, err, autherr.NameServiceUnavailable, "the token endpoint could not be reached")
		if err != nil && strings.Contains(err.Error(), "127.0.0.1:1/token") {
			t.Errorf("error names the URL: %v", err)
		}
	})
}

// TestAuthenticateCallbackParams: the IdP's error parameter is a failure
// for server_error and invalid_*, a rejection otherwise, and a callback
// without code or error is refused before any token request.
func TestAuthenticateCallbackParams(t *testing.T) {
	f := newFakeIdP(t)
	p := f.provider(t, nil)
	for _, c := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"error": {"access_denied"}}, "Authentication rejected, access_denied"},
		{url.Values{"error": {"login_required"}, "error_description": {"no session"}}, "Authentication rejected, login_required (no session)"},
		{url.Values{"error": {"server_error"}, "error_description": {"boom"}}, "Authentication failed, server_error (boom)"},
		{url.Values{"error": {"invalid_request"}}, "Authentication failed, invalid_request"},
		{url.Values{"state": {"6e6f"}}, "the callback carries no code"},
	} {
		t.Run(c.params.Encode(), func(t *testing.T) {
			_, err := p.Authenticate(t.Context(), providers.CallbackRequest{Params: c.params})
			devidptest.WantError(t, err, autherr.NameAuthentication, c.want)
		})
	}
	if len(f.tokenForms) != 0 {
		t.Errorf("%d token requests for callbacks without a code", len(f.tokenForms))
	}
}

// TestUserinfoAnswers: the userinfo call's outcomes, without and with the
// fallback to ID-token claims that vcfsso turns on. A userinfo JWT with a
// bad signature is refused even with the fallback: it is forged, not down.
func TestUserinfoAnswers(t *testing.T) {
	stranger := devidptest.NewKey(t, "k1")
	for _, c := range []struct {
		name     string
		answer   func(f *fakeIdP) http.HandlerFunc
		metadata func(m map[string]any)
		errName  string
		want     string // refusal without the fallback; "" accepted
		fallback string // refusal with it; "" accepted
		email    any    // userinfo's email when accepted without fallback
	}{
		{name: "JSON answer", answer: func(f *fakeIdP) http.HandlerFunc { return nil }, email: "alice@example.com"},
		{name: "JSON answer with charset", answer: func(f *fakeIdP) http.HandlerFunc {
			return devidptest.Answer(200, "application/json; charset=utf-8", `{"sub":"alice","email":"a@x"}`)
		}, email: "a@x"},
		{name: "signed JWT answer", answer: func(f *fakeIdP) http.HandlerFunc {
			return devidptest.Answer(200, "application/jwt", f.key.Sign(t, jose.RS256, map[string]any{"sub": "alice", "email": "jwt@x"}))
		}, email: "jwt@x"},
		{name: "JWT answer signed by another key", answer: func(f *fakeIdP) http.HandlerFunc {
			return devidptest.Answer(200, "application/jwt", stranger.Sign(t, jose.RS256, map[string]any{"sub": "alice"}))
		}, errName: autherr.NameAuthentication, want: "userinfo JWT signature is invalid", fallback: "userinfo JWT signature is invalid"},
		{name: "HTTP 500", answer: func(f *fakeIdP) http.HandlerFunc { return devidptest.Answer(500, "", "") },
			errName: autherr.NameAuthentication, want: "userinfo endpoint answered HTTP 500"},
		{name: "not a JSON object", answer: func(f *fakeIdP) http.HandlerFunc { return devidptest.Answer(200, "application/json", "[1]") },
			errName: autherr.NameAuthentication, want: "userinfo answer is not a JSON object"},
		{name: "sub of another user", answer: func(f *fakeIdP) http.HandlerFunc {
			return devidptest.Answer(200, "application/json", `{"sub":"mallory"}`)
		}, errName: autherr.NameAuthentication, want: "userinfo sub mismatch", fallback: "userinfo sub mismatch"},
		{name: "no userinfo_endpoint", metadata: func(m map[string]any) { delete(m, "userinfo_endpoint") },
			errName: autherr.NameAuthentication, want: "must provide a userinfo_endpoint"},
		{name: "unreachable userinfo_endpoint", metadata: func(m map[string]any) { m["userinfo_endpoint"] = "http://127.0.0.1:1/userinfo" },
			errName: autherr.NameServiceUnavailable, want: "userinfo request failed"},
	} {
		for _, fallback := range []bool{false, true} {
			name := c.name
			if fallback {
				name += ", with fallback"
			}
			t.Run(name, func(t *testing.T) {
				f := newFakeIdP(t)
				f.set(func(f *fakeIdP) {
					if c.answer != nil {
						f.userinfo = c.answer(f)
					}
					f.metadata = c.metadata
				})
				p := f.provider(t, func(cfg *oidc.Config) { cfg.UserInfoFallback = fallback })
				res, err := p.Authenticate(t.Context(), callback())
				want, errName := c.want, c.errName
				if fallback {
					want = c.fallback
					if want != "" {
						errName = autherr.NameAuthentication
					}
				}
				devidptest.WantError(t, err, errName, want)
				if err != nil {
					return
				}
				switch {
				case res.IDTokenClaims["sub"] != "alice":
					t.Errorf("ID token claims %v", res.IDTokenClaims)
				case c.want != "" && res.UserInfo != nil:
					t.Errorf("fallback kept userinfo %v", res.UserInfo)
				case c.want == "" && res.UserInfo["email"] != c.email:
					t.Errorf("userinfo %v, want email %v", res.UserInfo, c.email)
				}
			})
		}
	}
}

// TestDiscoveryFailures: a discovery document that cannot be fetched or
// used fails every request with a ServiceUnavailableError that names the
// discovery URL and what was wrong.
func TestDiscoveryFailures(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   int
		metadata func(m map[string]any)
		want     string
	}{
		{name: "HTTP 404", status: 404, want: "the IdP answered HTTP 404"},
		{name: "lacks endpoints", metadata: func(m map[string]any) {
			delete(m, "jwks_uri")
			delete(m, "token_endpoint")
		}, want: "the discovery document lacks jwks_uri, token_endpoint"},
		{name: "lacks issuer", metadata: func(m map[string]any) { m["issuer"] = "" }, want: "the discovery document lacks issuer"},
		{name: "PKCE neither S256 nor plain", metadata: func(m map[string]any) { m["code_challenge_methods_supported"] = []string{"S512"} },
			want: "the IdP supports neither S256 nor plain PKCE"},
		{name: "not JSON", metadata: func(m map[string]any) { m["issuer"] = 7 }, want: "the discovery document is not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.set(func(f *fakeIdP) { f.discoveryStatus, f.metadata = c.status, c.metadata })
			p := f.provider(t, nil)
			err := p.Discover(t.Context())
			devidptest.WantError(t, err, autherr.NameServiceUnavailable, c.want)
			devidptest.WantError(t, err, autherr.NameServiceUnavailable, "OIDC discovery at "+f.issuer()+"/.well-known/openid-configuration failed")
			_, err = p.AuthorizationURL(t.Context(), providers.StartRequest{State: "s", Transaction: &providers.Transaction{}})
			devidptest.WantError(t, err, autherr.NameServiceUnavailable, c.want)
		})
	}
	t.Run("unreachable IdP", func(t *testing.T) {
		p, err := oidc.New(oidc.Config{MetadataURL: "http://127.0.0.1:1/acs", ClientID: testClient, CallbackURL: testCallback})
		if err != nil {
			t.Fatal(err)
		}
		devidptest.WantError(t, p.Discover(t.Context()), autherr.NameServiceUnavailable, "OIDC discovery at http://127.0.0.1:1/acs/.well-known/openid-configuration failed")
		_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt"})
		devidptest.WantError(t, err, autherr.NameServiceUnavailable, "OIDC discovery")
		if _, err := p.Logout(t.Context(), providers.LogoutRequest{RefreshToken: "rt"}); err == nil {
			t.Error("Logout without discovery succeeded")
		}
	})
}

// TestDiscoveryRetry: a failed discovery is retried at most once a second
// (by the provider's clock) and then cached once it succeeds, so readiness
// probes and requests do not hammer a down IdP.
func TestDiscoveryRetry(t *testing.T) {
	f := newFakeIdP(t)
	now := time.Now()
	p := f.provider(t, func(cfg *oidc.Config) { cfg.Now = func() time.Time { return now } })
	f.set(func(f *fakeIdP) { f.discoveryStatus = 500 })
	if err := p.Discover(t.Context()); err == nil {
		t.Fatal("discovery of a failing IdP succeeded")
	}
	f.set(func(f *fakeIdP) { f.discoveryStatus = 0 })
	if err := p.Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("within the second: %v, want the cached HTTP 500 error", err)
	}
	now = now.Add(time.Second)
	if err := p.Discover(t.Context()); err != nil {
		t.Errorf("a second later: %v", err)
	}
	f.set(func(f *fakeIdP) { f.discoveryStatus = 500 })
	if err := p.Discover(t.Context()); err != nil {
		t.Errorf("after success: %v, want the cached document", err)
	}
}

// TestDiscoveryURL: a metadataUrl containing /.well-known/ is fetched as
// is, any other gets /.well-known/openid-configuration appended.
func TestDiscoveryURL(t *testing.T) {
	f := newFakeIdP(t)
	for _, u := range []string{f.issuer(), f.issuer() + "/", f.issuer() + "/.well-known/openid-configuration"} {
		p := f.provider(t, func(cfg *oidc.Config) { cfg.MetadataURL = u })
		if err := p.Discover(t.Context()); err != nil {
			t.Errorf("metadataUrl %s: %v", u, err)
		}
	}
}

// TestAuthorizationURL: the parameters Backstage's oidc provider sends:
// code flow, state, scope, a fresh nonce, the S256 challenge of the
// transaction's verifier (plain when the IdP offers only plain), prompt as
// configured, and startUrlSearchParams that do not override any of them.
func TestAuthorizationURL(t *testing.T) {
	for _, c := range []struct {
		name   string
		prompt string
		plain  bool
		want   url.Values // "" values must be absent
	}{
		{name: "prompt unset sends none", want: url.Values{"prompt": {"none"}}},
		{name: "prompt auto sends no prompt", prompt: "auto", want: url.Values{"prompt": {""}}},
		{name: "prompt login", prompt: "login", want: url.Values{"prompt": {"login"}}},
		{name: "plain PKCE when the IdP offers only plain", plain: true, want: url.Values{"code_challenge_method": {"plain"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeIdP(t)
			if c.plain {
				f.set(func(f *fakeIdP) {
					f.metadata = func(m map[string]any) { m["code_challenge_methods_supported"] = []string{"plain"} }
				})
			}
			p := f.provider(t, func(cfg *oidc.Config) {
				cfg.Prompt = c.prompt
				cfg.StartURLSearchParams = map[string]string{"login_hint": "alice", "state": "evil", "nonce": "evil", "prompt": "evil", "code_challenge": "evil"}
			})
			var txn providers.Transaction
			raw, err := p.AuthorizationURL(t.Context(), providers.StartRequest{State: "6e6f", Scope: "openid profile email", Transaction: &txn})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(raw)
			q := u.Query()
			if !strings.HasPrefix(raw, f.issuer()+"/authorize?") || q.Get("response_type") != "code" || q.Get("client_id") != testClient ||
				q.Get("redirect_uri") != testCallback || q.Get("state") != "6e6f" || q.Get("scope") != "openid profile email" || q.Get("login_hint") != "alice" {
				t.Errorf("authorization URL %s", raw)
			}
			if txn.Nonce == "" || q.Get("nonce") != txn.Nonce || txn.CodeVerifier == "" {
				t.Errorf("nonce %q, transaction %+v", q.Get("nonce"), txn)
			}
			challenge, method := oauth2.S256ChallengeFromVerifier(txn.CodeVerifier), "S256"
			if c.plain {
				challenge, method = txn.CodeVerifier, "plain"
			}
			if q.Get("code_challenge") != challenge || q.Get("code_challenge_method") != method {
				t.Errorf("PKCE %s %s, want %s %s", q.Get("code_challenge"), q.Get("code_challenge_method"), challenge, method)
			}
			for k, v := range c.want {
				if _, sent := q[k]; q.Get(k) != v[0] || (v[0] == "" && sent) {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v[0])
				}
			}
		})
	}
}

// TestRefresh: a refresh answer without an ID token is used with userinfo
// alone; one with an ID token is verified, without a nonce; a refused
// refresh token is an AuthenticationError.
func TestRefresh(t *testing.T) {
	f := newFakeIdP(t)
	p := f.provider(t, nil)
	f.set(func(f *fakeIdP) { f.token = tokenJSON("") })
	res, err := p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0", Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	if res.IDTokenClaims != nil || res.UserInfo["sub"] != "alice" || res.Session.AccessToken != "at-1" {
		t.Errorf("refresh without ID token: %+v", res)
	}
	if r := f.tokenForms[0]; r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != "rt-0" || r.PostForm.Has("scope") {
		t.Errorf("refresh form %v", r.PostForm)
	}

	f.set(func(f *fakeIdP) { f.token = tokenJSON(f.idToken(t, func(c map[string]any) { delete(c, "nonce") })) })
	if res, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0"}); err != nil || res.IDTokenClaims["sub"] != "alice" {
		t.Errorf("refresh with ID token: %v %v", res, err)
	}

	f.set(func(f *fakeIdP) { f.token = tokenJSON(f.idToken(t, func(c map[string]any) { c["aud"] = "other" })) })
	_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0"})
	devidptest.WantError(t, err, autherr.NameAuthentication, "expected audience")

	f.set(func(f *fakeIdP) { f.token = devidptest.Answer(400, "application/json", `{"error":"invalid_grant"}`) })
	_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: "rt-0"})
	devidptest.WantError(t, err, autherr.NameAuthentication, "Failed to refresh access token, token endpoint answered HTTP 400: invalid_grant")
}

// TestLogoutRevokes: Logout revokes the refresh token (RFC 7009) with the
// client authenticated as at the token endpoint, does nothing without a
// revocation_endpoint, and reports a refusal.
func TestLogoutRevokes(t *testing.T) {
	for _, method := range []string{"client_secret_basic", "client_secret_post"} {
		t.Run(method, func(t *testing.T) {
			f := newFakeIdP(t)
			p := f.provider(t, func(cfg *oidc.Config) { cfg.TokenEndpointAuthMethod = method })
			if u, err := p.Logout(t.Context(), providers.LogoutRequest{RefreshToken: "rt-1"}); err != nil || u != "" {
				t.Fatalf("Logout = %q, %v", u, err)
			}
			r := f.revokeRequests[0]
			if r.PostForm.Get("token") != "rt-1" || r.PostForm.Get("token_type_hint") != "refresh_token" {
				t.Errorf("revocation form %v", r.PostForm)
			}
			user, pass, basic := r.BasicAuth()
			if method == "client_secret_post" {
				if basic || r.PostForm.Get("client_id") != testClient || r.PostForm.Get("client_secret") != testSecret {
					t.Errorf("client_secret_post revocation: basic=%v form %v", basic, r.PostForm)
				}
			} else if !basic || user != testClient || pass != testSecret || r.PostForm.Has("client_secret") {
				t.Errorf("client_secret_basic revocation: %q:%q basic=%v form %v", user, pass, basic, r.PostForm)
			}
		})
	}
	t.Run("no revocation_endpoint", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(func(f *fakeIdP) { f.metadata = func(m map[string]any) { delete(m, "revocation_endpoint") } })
		if u, err := f.provider(t, nil).Logout(t.Context(), providers.LogoutRequest{RefreshToken: "rt-1"}); err != nil || u != "" || len(f.revokeRequests) != 0 {
			t.Errorf("Logout = %q, %v after %d revocations", u, err, len(f.revokeRequests))
		}
	})
	t.Run("refused", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(func(f *fakeIdP) {
			f.revoke = devidptest.Answer(400, "application/json", `{"error":"unsupported_token_type"}`)
		})
		if _, err := f.provider(t, nil).Logout(t.Context(), providers.LogoutRequest{RefreshToken: "rt-1"}); err == nil || err.Error() != "revocation endpoint answered HTTP 400" {
			t.Errorf("Logout = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(func(f *fakeIdP) {
			f.metadata = func(m map[string]any) { m["revocation_endpoint"] = "http://127.0.0.1:1/revoke" }
		})
		_, err := f.provider(t, nil).Logout(t.Context(), providers.LogoutRequest{RefreshToken: "rt-1"})
		if err == nil || strings.Contains(err.Error(), "127.0.0.1:1/revoke") {
			t.Errorf("Logout = %v, want a connection error without the URL", err)
		}
	})
}

// TestNewRefusesBadConfig: New names the config key that is wrong.
func TestNewRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  oidc.Config
		want string
	}{
		{oidc.Config{ClientID: "c", CallbackURL: "http://cb"}, "metadataUrl, clientId and callbackUrl are required"},
		{oidc.Config{MetadataURL: "idp.example", ClientID: "c", CallbackURL: "http://cb"}, `metadataUrl: "idp.example" is not an absolute http(s) URL`},
		{oidc.Config{MetadataURL: "https://idp.example", ClientID: "c", CallbackURL: "http://cb", TokenEndpointAuthMethod: "private_key_jwt"},
			`tokenEndpointAuthMethod: "private_key_jwt" is not supported`},
	} {
		if _, err := oidc.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestScopes: openid profile email always, and the granted scope persists.
func TestScopes(t *testing.T) {
	s := newFakeIdP(t).provider(t, nil).Scopes()
	if strings.Join(s.Required, " ") != "openid profile email" || !s.Persist {
		t.Errorf("Scopes() = %+v", s)
	}
}
