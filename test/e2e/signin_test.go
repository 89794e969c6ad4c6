package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

func TestSignInPopupFlow(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := newBrowser(t)
	resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, ok := msg["response"].(map[string]any)
	if !ok {
		t.Fatalf("popup carries no response: %v", msg)
	}
	if p := r["profile"].(map[string]any); p["email"] != "alice@example.com" || p["displayName"] != "Alice Example" {
		t.Errorf("profile = %v", p)
	}
	pi := r["providerInfo"].(map[string]any)
	if pi["idToken"] == "" || pi["accessToken"] == "" || pi["scope"] != "openid profile email offline_access" {
		t.Errorf("providerInfo = %v", pi)
	}
	token := h.identityOf(r, "user:default/alice", "user:default/alice", "group:default/team-a")

	// uip rebuilds a limited-user token that verifies with the same key.
	limited, err := identity.LimitedUserToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if c := h.verifyToken(limited, identity.TypeLimitedUser); c["sub"] != "user:default/alice" || len(c) != 3 {
		t.Errorf("limited token claims = %v", c)
	}

	// The sign-in set the refresh and granted-scope cookies and cleared
	// the single-use login cookies.
	refreshToken := b.cookie(h, "vcfsso-refresh-token")
	if refreshToken == "" || b.cookie(h, "vcfsso-granted-scope") == "" {
		t.Fatal("no refresh or granted-scope cookie after sign-in")
	}

	resp2, ref := b.refresh(h, "development")
	if resp2.StatusCode != 200 || resp2.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("refresh: %d %v", resp2.StatusCode, ref)
	}
	token2 := h.identityOf(ref, "user:default/alice", "user:default/alice", "group:default/team-a")
	if token2 == token {
		t.Error("refresh returned the same token")
	}
	if pi := ref["providerInfo"].(map[string]any); pi["scope"] != "openid profile email offline_access" || pi["accessToken"] == "" {
		t.Errorf("refresh providerInfo = %v", pi)
	}

	for _, tok := range []string{token2, limited} {
		req, _ := http.NewRequest("GET", h.base+"/api/auth/v1/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		uresp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ub, _ := io.ReadAll(uresp.Body)
		uresp.Body.Close()
		if uresp.StatusCode != 200 || string(ub) != `{"claims":{"ent":["user:default/alice","group:default/team-a"],"sub":"user:default/alice"}}` {
			t.Errorf("userinfo: %d %s", uresp.StatusCode, ub)
		}
	}

	lresp, lbody := b.do("POST", h.base+"/api/auth/vcfsso/logout?env=development", nil, map[string]string{"X-Requested-With": "XMLHttpRequest", "Origin": appOrigin})
	if lresp.StatusCode != 200 {
		t.Fatalf("logout: %d %s", lresp.StatusCode, lbody)
	}
	if b.cookie(h, "vcfsso-refresh-token") != "" || b.cookie(h, "vcfsso-granted-scope") != "" {
		t.Error("logout left the refresh or granted-scope cookie")
	}
	if !h.idp.Revoked(refreshToken) {
		t.Error("logout did not revoke the refresh token at the IdP")
	}
	resp3, body3 := b.do("GET", h.base+"/api/auth/vcfsso/refresh?env=development", nil, xhr)
	assertEnvelope(t, resp3.StatusCode, body3, 401, "AuthenticationError", "Refresh failed; caused by InputError: Missing session cookie")
}

// TestOIDCProvider signs in through the `oidc` provider id with
// client_secret_post. The dev IdP sends no email claim, so Backstage's oidc
// transform yields no email (an email resolver would stop the chain with
// "user profile does not contain an email"); user_name finds the user.
func TestOIDCProvider(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := newBrowser(t)
	resp, body := b.loginVia(h, "oidc", startQuery("development"), "alice", "alice-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, _ := msg["response"].(map[string]any)
	if r == nil {
		t.Fatalf("oidc sign-in failed: %v", msg["error"])
	}
	if p := r["profile"].(map[string]any); p["email"] != nil || p["displayName"] != "Alice Example" {
		t.Errorf("oidc profile = %v (no email without email_verified)", p)
	}
	h.identityOf(r, "user:default/alice", "user:default/alice", "group:default/team-a")
	// Without offline_access the IdP issues no refresh token, so there is
	// no session cookie, as with Backstage.
	if b.cookieAt(h, "/api/auth/oidc/refresh", "oidc-refresh-token") != "" {
		t.Error("an oidc-refresh-token cookie without offline_access")
	}
}

func TestSignInRedirectFlow(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := newBrowser(t)
	back := appOrigin + "/catalog?x=1"
	redirectQuery := "scope=openid&origin=" + url.QueryEscape(appOrigin) + "&flow=redirect&env=development&redirectUrl=" + url.QueryEscape(back)
	resp, body := b.login(h, redirectQuery, "alice", "alice-test-password", "login")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != back {
		t.Fatalf("redirect flow ended with %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// The app reloads and gets its session from /refresh.
	rresp, ref := b.refresh(h, "development")
	if rresp.StatusCode != 200 {
		t.Fatalf("refresh after redirect: %d %v", rresp.StatusCode, ref)
	}
	h.identityOf(ref, "user:default/alice", "user:default/alice", "group:default/team-a")

	// A failing redirect sign-in lands on the app with ?error=.
	b2 := newBrowser(t)
	resp, _ = b2.login(h, redirectQuery, "alice", "x", "deny")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/catalog" || !strings.Contains(loc.Query().Get("error"), "access_denied") {
		t.Fatalf("denied redirect flow: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// assertEnvelope checks Backstage's JSON error envelope.
func assertEnvelope(t *testing.T, status int, body []byte, wantStatus int, wantName, wantMessage string) {
	t.Helper()
	var env struct {
		Error struct {
			Name, Message string
		}
		Response struct {
			StatusCode int
		}
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not an error envelope (%d): %s", status, body)
	}
	if status != wantStatus || env.Response.StatusCode != wantStatus || env.Error.Name != wantName || env.Error.Message != wantMessage {
		t.Errorf("got %d %s %q, want %d %s %q", status, env.Error.Name, env.Error.Message, wantStatus, wantName, wantMessage)
	}
}

func TestResolverChainOverHTTP(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, c := range []struct {
		user, env         string
		wantRef           string
		wantName, wantMsg string
	}{
		// NotFound (email) → match (user_name).
		{user: "bob", env: "development", wantRef: "user:default/bob"},
		// NotFound → NotFound → Backstage's message.
		{user: "carol", env: "development", wantName: "Error", wantMsg: "Failed to sign-in, unable to resolve user identity. Please verify that your catalog contains the expected User entities that would match your configured sign-in resolver."},
		// Conflict stops the chain.
		{user: "dave", env: "development", wantName: "ConflictError", wantMsg: "User lookup resulted in multiple matches"},
		// NotAllowed stops the chain before the email resolver that would match.
		{user: "alice", env: "production", wantName: "NotAllowedError", wantMsg: "Sign-in user email is not from an allowed domain"},
	} {
		t.Run(c.user+"/"+c.env, func(t *testing.T) {
			b := newBrowser(t)
			pw := c.user + "-test-password"
			resp, body := b.login(h, startQuery(c.env), c.user, pw, "login")
			if c.wantRef != "" {
				msg := popupMessage(t, resp, body)
				h.identityOf(msg["response"].(map[string]any), c.wantRef, c.wantRef)
				return
			}
			name, msg := popupError(t, resp, body)
			if name != c.wantName || msg != c.wantMsg {
				t.Errorf("got %s %q, want %s %q", name, msg, c.wantName, c.wantMsg)
			}
		})
	}
}

func TestRequestRejections(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	get := func(path string, hdr map[string]string) (int, []byte) {
		b := newBrowser(t)
		b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, body := b.do("GET", h.base+path, nil, hdr)
		return resp.StatusCode, body
	}
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		errName    string
		message    string
	}{
		{"missing env", "/api/auth/vcfsso/start?scope=openid", nil, 400, "InputError", "Must specify 'env' query to select environment"},
		{"unknown env", "/api/auth/vcfsso/start?env=staging", nil, 404, "NotFoundError", "No configuration available for the 'staging' environment of this provider."},
		{"unknown provider", "/api/auth/github/start?env=development", nil, 404, "NotFoundError", "Unknown auth provider 'github'"},
		{"disallowed origin", "/api/auth/vcfsso/start?env=development&origin=" + url.QueryEscape("https://evil.example"), nil, 403, "NotAllowedError", "Origin 'https://evil.example' is not allowed"},
		{"refresh without header", "/api/auth/vcfsso/refresh?env=development", nil, 401, "AuthenticationError", "Invalid X-Requested-With header"},
		{"refresh without cookie", "/api/auth/vcfsso/refresh?env=development", xhr, 401, "AuthenticationError", "Refresh failed; caused by InputError: Missing session cookie"},
		{"userinfo without token", "/api/auth/v1/userinfo", nil, 401, "AuthenticationError", "No token provided"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(c.path, c.hdr)
			assertEnvelope(t, status, body, c.status, c.errName, c.message)
		})
	}
}

// frameAfterStart runs /start and the IdP login without following the
// IdP's redirect back, so a test can alter the callback or its cookies.
func frameAfterStart(t *testing.T, h *harness, b *browser) *url.URL {
	t.Helper()
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/handler/frame") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, _ := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("expected the IdP's redirect to the frame handler, got %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	b.c.CheckRedirect = nil
	return u
}

func TestCallbackRejections(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	hexState := func(s string) string { return fmt.Sprintf("%x", s) }
	for _, c := range []struct {
		name    string
		alter   func(b *browser, u *url.URL)
		errName string
		message string
	}{
		{"missing nonce cookie", func(b *browser, u *url.URL) {
			b.setCookie(h, "vcfsso-nonce", "")
		}, "NotAllowedError", "Auth response is missing cookie nonce"},
		{"mismatched nonce", func(b *browser, u *url.URL) {
			b.setCookie(h, "vcfsso-nonce", "someone-elses-nonce")
		}, "NotAllowedError", "Invalid nonce"},
		{"tampered sealed cookie", func(b *browser, u *url.URL) {
			// Still valid base64url, but one ciphertext byte differs.
			v := []byte(b.cookieAt(h, "/api/auth/vcfsso/handler/frame", "vcfsso-transaction"))
			if v[len(v)/2] == 'A' {
				v[len(v)/2] = 'B'
			} else {
				v[len(v)/2] = 'A'
			}
			b.setCookie(h, "vcfsso-transaction", string(v))
		}, "NotAllowedError", "The vcfsso-transaction cookie failed its integrity check (tampered, or sealed with another auth.session.secret)"},
		{"garbled sealed cookie", func(b *browser, u *url.URL) {
			b.setCookie(h, "vcfsso-transaction", "not*base64")
		}, "NotAllowedError", "The vcfsso-transaction cookie is malformed"},
		{"missing sealed cookie", func(b *browser, u *url.URL) {
			b.setCookie(h, "vcfsso-transaction", "")
		}, "NotAllowedError", "Auth response is missing the vcfsso-transaction cookie; the sign-in must finish in the browser that started it, within 10 minutes"},
		{"expired sealed cookie", func(b *browser, u *url.URL) {
			h.clock.Add(11 * time.Minute)
		}, "NotAllowedError", "The vcfsso-transaction cookie has expired; start the sign-in again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t)
			u := frameAfterStart(t, h, b)
			c.alter(b, u)
			defer h.clock.Add(-h.clock.offset)
			resp, body := b.do("GET", u.String(), nil, nil)
			name, msg := popupError(t, resp, body)
			if name != c.errName || msg != c.message {
				t.Errorf("got %s %q, want %s %q", name, msg, c.errName, c.message)
			}
		})
	}

	// The env is read from the state before the frame handler runs, so a
	// broken state gets the JSON envelope, as Backstage answers it.
	for _, c := range []struct{ name, state, message string }{
		{"garbled state", "zz" + hexState("nonce=x&env=development"), "OAuth state is invalid, missing env"},
		{"state without nonce", hexState("env=development"), "OAuth state is invalid, missing nonce"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t)
			u := frameAfterStart(t, h, b)
			q := u.Query()
			q.Set("state", c.state)
			u.RawQuery = q.Encode()
			resp, body := b.do("GET", u.String(), nil, nil)
			assertEnvelope(t, resp.StatusCode, body, 403, "NotAllowedError", c.message)
		})
	}

	t.Run("access_denied", func(t *testing.T) {
		b := newBrowser(t)
		resp, body := b.login(h, startQuery("development"), "alice", "", "deny")
		name, msg := popupError(t, resp, body)
		if name != "AuthenticationError" || !strings.HasPrefix(msg, "Authentication rejected, access_denied") {
			t.Errorf("got %s %q", name, msg)
		}
	})
}

// setCookie replaces a cookie on the frame handler path ("" deletes it).
func (b *browser) setCookie(h *harness, name, value string) {
	u, _ := url.Parse(h.base + "/api/auth/vcfsso/handler/frame")
	c := &http.Cookie{Name: name, Value: value, Path: "/api/auth/vcfsso/handler"}
	if value == "" {
		c.MaxAge = -1
	}
	b.jar.SetCookies(u, []*http.Cookie{c})
}

func (b *browser) cookieAt(h *harness, path, name string) string {
	u, _ := url.Parse(h.base + path)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestIdPDown(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	issuer := h.idp.Issuer()
	h.idp.Close()
	b := newBrowser(t)
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, body := b.do("GET", h.base+"/api/auth/vcfsso/start?"+startQuery("development"), nil, nil)
	var env struct {
		Error struct{ Name, Message string }
	}
	_ = json.Unmarshal(body, &env)
	if resp.StatusCode != 503 || env.Error.Name != "ServiceUnavailableError" || !strings.Contains(env.Error.Message, issuer) {
		t.Errorf("start with the IdP down: %d %s", resp.StatusCode, body)
	}
}

// tamperingProxy stands between Gatehouse and the IdP's discovery and
// token endpoints and rewrites the ID token of each token response.
type tamperingProxy struct {
	idp    *devidp.IdP
	srv    *httptest.Server
	mu     sync.Mutex
	mutate func(header, claims map[string]any) (signWith *rsa.PrivateKey)
	// userinfoKey, when set, turns userinfo answers into application/jwt
	// signed with it.
	userinfoKey  *rsa.PrivateKey
	userinfoPath string
}

// newProxiedHarness is a harness whose metadataUrl points at a
// tamperingProxy in front of the dev IdP.
func newProxiedHarness(t *testing.T) (*harness, *tamperingProxy) {
	proxy := newTamperingProxy(t)
	h := newHarness(t, harnessOptions{metadataURL: func(idp *devidp.IdP) string {
		proxy.idp = idp
		u, _ := url.Parse(idp.Issuer())
		return proxy.srv.URL + u.Path + "/"
	}})
	return h, proxy
}

func newTamperingProxy(t *testing.T) *tamperingProxy {
	p := &tamperingProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *tamperingProxy) set(f func(header, claims map[string]any) *rsa.PrivateKey) {
	p.mu.Lock()
	p.mutate = f
	p.mu.Unlock()
}

func (p *tamperingProxy) serve(w http.ResponseWriter, r *http.Request) {
	idpURL, _ := url.Parse(p.idp.Issuer())
	idpOrigin := idpURL.Scheme + "://" + idpURL.Host
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, idpOrigin+r.URL.RequestURI(), r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch {
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		doc["token_endpoint"] = strings.Replace(doc["token_endpoint"].(string), idpOrigin, p.srv.URL, 1)
		doc["userinfo_endpoint"] = strings.Replace(doc["userinfo_endpoint"].(string), idpOrigin, p.srv.URL, 1)
		if u, err := url.Parse(doc["userinfo_endpoint"].(string)); err == nil {
			p.mu.Lock()
			p.userinfoPath = u.Path
			p.mu.Unlock()
		}
		body, _ = json.Marshal(doc)
	case p.isUserinfo(r.URL.Path) && resp.StatusCode == 200:
		p.mu.Lock()
		key := p.userinfoKey
		p.mu.Unlock()
		if key != nil {
			kid, _ := p.idp.SigningKey()
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
			jws, _ := signer.Sign(body)
			s, _ := jws.CompactSerialize()
			body = []byte(s)
			resp.Header.Set("Content-Type", "application/jwt")
		}
	case resp.StatusCode == 200 && strings.Contains(resp.Header.Get("Content-Type"), "json"):
		var tr map[string]any
		if json.Unmarshal(body, &tr) == nil && tr["id_token"] != nil {
			p.mu.Lock()
			f := p.mutate
			p.mu.Unlock()
			if f != nil {
				tr["id_token"] = p.rewrite(tr["id_token"].(string), f)
				body, _ = json.Marshal(tr)
			}
		}
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func (p *tamperingProxy) isUserinfo(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.userinfoPath != "" && path == p.userinfoPath
}

func (p *tamperingProxy) rewrite(tok string, f func(h, c map[string]any) *rsa.PrivateKey) string {
	parts := strings.Split(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h, c map[string]any
	_ = json.Unmarshal(hb, &h)
	_ = json.Unmarshal(cb, &c)
	kid, key := p.idp.SigningKey()
	if k := f(h, c); k != nil {
		key = k
	}
	payload, _ := json.Marshal(c)
	if h["alg"] == "none" {
		hb, _ = json.Marshal(h)
		return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	s, err := devidp.SignRS256(kid, key, payload)
	if err != nil {
		panic(err)
	}
	return s
}

func TestTamperedIDTokens(t *testing.T) {
	h, proxy := newProxiedHarness(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		mutate func(h, c map[string]any) *rsa.PrivateKey
		want   string // in the message
	}{
		{"untouched (re-signed)", func(h, c map[string]any) *rsa.PrivateKey { return nil }, ""},
		{"wrong aud", func(h, c map[string]any) *rsa.PrivateKey { c["aud"] = "someone-else"; return nil }, "audience"},
		{"wrong iss", func(h, c map[string]any) *rsa.PrivateKey { c["iss"] = "http://evil.example"; return nil }, "issued by a different provider"},
		{"wrong nonce", func(h, c map[string]any) *rsa.PrivateKey { c["nonce"] = "not-the-nonce"; return nil }, "nonce"},
		{"expired", func(h, c map[string]any) *rsa.PrivateKey {
			c["exp"] = time.Now().Add(-time.Minute).Unix()
			c["iat"] = time.Now().Add(-10 * time.Minute).Unix()
			return nil
		}, "expired"},
		{"alg none", func(h, c map[string]any) *rsa.PrivateKey { h["alg"] = "none"; return nil }, "signature"},
		{"no iat", func(h, c map[string]any) *rsa.PrivateKey { delete(c, "iat"); return nil }, "id token has no iat claim"},
		{"azp of another client", func(h, c map[string]any) *rsa.PrivateKey {
			aud := c["aud"]
			if a, ok := aud.([]any); ok {
				aud = a[0]
			}
			c["aud"], c["azp"] = []any{aud, "other-client"}, "other-client"
			return nil
		}, `id token azp "other-client" is not this client`},
		{"foreign key", func(h, c map[string]any) *rsa.PrivateKey { return otherKey }, "signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			proxy.set(c.mutate)
			b := newBrowser(t)
			resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
			msg := popupMessage(t, resp, body)
			if c.want == "" {
				if msg["response"] == nil {
					t.Fatalf("a faithfully re-signed ID token was refused: %v", msg["error"])
				}
				return
			}
			e, _ := msg["error"].(map[string]any)
			if e == nil {
				t.Fatalf("the tampered ID token was accepted")
			}
			if e["name"] != "AuthenticationError" || !strings.Contains(strings.ToLower(e["message"].(string)), c.want) {
				t.Errorf("got %v %q, want AuthenticationError mentioning %q", e["name"], e["message"], c.want)
			}
		})
	}
}

// TestUserinfoJWT: the IdP answers userinfo as a signed application/jwt,
// which the provider verifies against the IdP's keys.
func TestUserinfoJWT(t *testing.T) {
	h, proxy := newProxiedHarness(t)
	_, idpKey := h.idp.SigningKey()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	proxy.mu.Lock()
	proxy.userinfoKey = idpKey
	proxy.mu.Unlock()
	b := newBrowser(t)
	resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, _ := msg["response"].(map[string]any)
	if r == nil {
		t.Fatalf("sign-in with a JWT userinfo failed: %v", msg["error"])
	}
	if p := r["profile"].(map[string]any); p["email"] != "alice@example.com" {
		t.Errorf("profile from JWT userinfo = %v", p)
	}

	proxy.mu.Lock()
	proxy.userinfoKey = otherKey
	proxy.mu.Unlock()
	b = newBrowser(t)
	resp, body = b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	name, message := popupError(t, resp, body)
	if name != "AuthenticationError" || !strings.Contains(message, "userinfo JWT signature is invalid") {
		t.Errorf("forged JWT userinfo: %s %q", name, message)
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const good = `
app: {baseUrl: http://localhost:3000}
backend: {baseUrl: http://localhost:7007}
auth:
  session: {secret: s3cret}
  providers:
    vcfsso:
      development:
        metadataUrl: https://vcf.example.com/acs/t/CUSTOMER/
        clientId: backstage
        clientSecret: s3cret
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
`
	base := write("app-config.yaml", good)
	for _, c := range []struct {
		name, override string
		code           int
		want           string
	}{
		{"valid", "", 0, "config OK"},
		{"scope key", "auth: {providers: {vcfsso: {development: {scope: openid}}}}", 1,
			`auth.providers.vcfsso.development.scope: The vcfsso provider no longer supports the "scope" configuration option. Please use the "additionalScopes" option instead.`},
		{"unknown resolver", "auth: {providers: {vcfsso: {development: {signIn: {resolvers: [{resolver: nope}]}}}}}", 1,
			"auth.providers.vcfsso.development.signIn.resolvers[0]: Sign-in resolver 'nope' is not available"},
		{"bad duration", "auth: {providers: {vcfsso: {development: {sessionDuration: 3600}}}}", 1,
			"auth.providers.vcfsso.development.sessionDuration: The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{"unset variable", "auth: {providers: {vcfsso: {development: {clientSecret: '${GATEHOUSE_TEST_UNSET_VARIABLE}'}}}}", 1,
			`auth.providers.vcfsso.development.clientSecret: environment variable "GATEHOUSE_TEST_UNSET_VARIABLE" is not set`},
		{"typo", "auth: {providers: {vcfsso: {development: {metdataUrl: x}}}}", 1,
			`auth.providers.vcfsso.development.metdataUrl: unknown key (did you mean "metadataUrl"?)`},
		{"unknown provider", "auth: {providers: {okta: {development: {clientId: x}}}}", 1,
			`auth.providers.okta: unknown provider "okta"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"check", "--config", base}
			if c.override != "" {
				args = append(args, "--config", write(strings.ReplaceAll(c.name, " ", "-")+".yaml", c.override))
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
			if strings.Contains(out, "s3cret") {
				t.Errorf("check printed a secret:\n%s", out)
			}
		})
	}
}

var _ = errors.New
