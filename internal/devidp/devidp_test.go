package devidp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	testClientID = "gatehouse-test"
	testSecret   = "test-secret"
	testRedirect = "http://127.0.0.1:1/cb"
)

var testUsers = []User{
	{Username: "alice", Password: "alice-pw", Name: "Alice Example", Acct: "alice@example.com"},
	{Username: "bob", Password: "bob-pw", Name: "Bob Example", Acct: "bob@example.com"},
}

func startIdP(t *testing.T) *IdP {
	t.Helper()
	return startWith(t, Config{
		Users:   testUsers,
		Clients: []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
	})
}

// startWith starts the IdP with cfg and closes it when t ends.
func startWith(t *testing.T, cfg Config) *IdP {
	t.Helper()
	p, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// browser is an http.Client with a cookie jar that stops at the client's
// redirect URI, as a browser would hand that URL to the app.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == "127.0.0.1:1" {
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

type flow struct {
	t        *testing.T
	idp      *IdP
	provider *oidc.Provider
	cfg      oauth2.Config
	state    string
	nonce    string
	verifier string
}

func newFlow(t *testing.T, idp *IdP, style oauth2.AuthStyle) *flow {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), idp.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	ep := provider.Endpoint()
	ep.AuthStyle = style
	return &flow{
		t:        t,
		idp:      idp,
		provider: provider,
		cfg: oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testSecret,
			Endpoint:     ep,
			RedirectURL:  testRedirect,
			Scopes:       []string{"openid", "profile", "email", "offline_access"},
		},
		state:    "state-" + randomID()[:8],
		nonce:    "nonce-" + randomID()[:8],
		verifier: oauth2.GenerateVerifier(),
	}
}

func (f *flow) authURL(extra ...oauth2.AuthCodeOption) string {
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	return f.cfg.AuthCodeURL(f.state, opts...)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// loginForm GETs the auth URL and expects the login form; it returns the
// auth request ID from the form.
func loginForm(t *testing.T, c *http.Client, issuer, authURL string) string {
	t.Helper()
	resp, body := get(t, c, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("auth URL: status %d, want the login form; body %q", resp.StatusCode, body)
	}
	for _, want := range []string{`method="POST"`, `name="username"`, `name="password"`, `type="password"`, `name="action" value="login"`, `name="action" value="deny"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login form lacks %s", want)
		}
	}
	if got := resp.Request.URL; got.Scheme+"://"+got.Host+got.Path != issuer+"/login" {
		t.Errorf("login form served at %s", resp.Request.URL)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" || !strings.Contains(body, `name="authRequestID" value="`+id+`"`) {
		t.Fatalf("login form lacks the auth request ID %q", id)
	}
	return id
}

// callback returns the query of the redirect to the client's redirect URI.
func callback(t *testing.T, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 to the redirect URI; body %q", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %s, want %s", loc, testRedirect)
	}
	return loc.Query()
}

func (f *flow) login(c *http.Client, username, password string, extra ...oauth2.AuthCodeOption) url.Values {
	f.t.Helper()
	id := loginForm(f.t, c, f.idp.Issuer(), f.authURL(extra...))
	resp, body := postForm(f.t, c, f.idp.Issuer()+"/login", url.Values{
		"authRequestID": {id}, "username": {username}, "password": {password}, "action": {"login"},
	})
	q := callback(f.t, resp, body)
	if q.Get("state") != f.state {
		f.t.Errorf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("code") == "" {
		f.t.Fatalf("no code in callback: %v", q)
	}
	return q
}

func (f *flow) exchange(code string) *oauth2.Token {
	f.t.Helper()
	tok, err := f.cfg.Exchange(f.t.Context(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		f.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// verifyID verifies the ID token with go-oidc and returns its claims.
func (f *flow) verifyID(tok *oauth2.Token) (*oidc.IDToken, map[string]any) {
	f.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		f.t.Fatal("no id_token in token response")
	}
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: testClientID}).Verify(f.t.Context(), raw)
	if err != nil {
		f.t.Fatalf("verify ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		f.t.Fatal(err)
	}
	return idt, claims
}

func checkVCFClaims(t *testing.T, where string, claims map[string]any, u User) {
	t.Helper()
	want := map[string]string{"sub": u.Username, "user_name": u.Username, "acct": u.Acct, "name": u.Name}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s: claim %s = %v, want %q", where, k, claims[k], v)
		}
	}
	for _, k := range []string{"email", "email_verified"} {
		if _, ok := claims[k]; ok {
			t.Errorf("%s: has claim %s, VCF SSO sends none", where, k)
		}
	}
}

func TestDiscovery(t *testing.T) {
	idp := startIdP(t)
	if !strings.HasPrefix(idp.Issuer(), "http://127.0.0.1:") || !strings.HasSuffix(idp.Issuer(), "/acs/t/CUSTOMER") {
		t.Errorf("Issuer() = %q", idp.Issuer())
	}
	// As configured in metadataUrl: with a trailing slash, the client
	// appends ".well-known/openid-configuration".
	resp, body := get(t, http.DefaultClient, idp.Issuer()+"/"+".well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: status %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != idp.Issuer() {
		t.Errorf("issuer = %v, want %s", doc["issuer"], idp.Issuer())
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint", "end_session_endpoint"} {
		s, _ := doc[k].(string)
		if !strings.HasPrefix(s, idp.Issuer()+"/") {
			t.Errorf("%s = %q", k, s)
		}
	}
	for k, want := range map[string]string{
		"code_challenge_methods_supported":      "S256",
		"token_endpoint_auth_methods_supported": "client_secret_post",
		"scopes_supported":                      "offline_access",
		"id_token_signing_alg_values_supported": "RS256",
	} {
		b, _ := json.Marshal(doc[k])
		if !strings.Contains(string(b), want) {
			t.Errorf("%s = %s, want it to include %s", k, b, want)
		}
	}
	// go-oidc checks that the issuer matches too.
	if _, err := oidc.NewProvider(t.Context(), idp.Issuer()); err != nil {
		t.Errorf("go-oidc discovery: %v", err)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0", "example.com:0"} {
		_, err := Start(t.Context(), Config{Addr: addr, Users: testUsers,
			Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{testRedirect}}}})
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Start(%q) error = %v, want one naming the address", addr, err)
		}
	}
}

func TestStartConfigErrors(t *testing.T) {
	good := Client{ID: "c", Secret: "s", RedirectURIs: []string{testRedirect}}
	for name, cfg := range map[string]Config{
		"no clients":       {Users: testUsers},
		"client no secret": {Users: testUsers, Clients: []Client{{ID: "c", RedirectURIs: []string{testRedirect}}}},
		"client no uris":   {Users: testUsers, Clients: []Client{{ID: "c", Secret: "s"}}},
		"bad user":         {Users: []User{{Username: "x"}}, Clients: []Client{good}},
		"duplicate client": {Users: testUsers, Clients: []Client{good, good}},
	} {
		if p, err := Start(t.Context(), cfg); err == nil {
			p.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

func TestCodeFlowRefreshRevoke(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)

	q := f.login(c, "alice", "alice-pw")
	tok := f.exchange(q.Get("code"))
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token response lacks access or refresh token: %+v", tok)
	}
	idt, claims := f.verifyID(tok)
	if idt.Nonce != f.nonce {
		t.Errorf("nonce = %q, want %q", idt.Nonce, f.nonce)
	}
	checkVCFClaims(t, "ID token", claims, testUsers[0])

	// The ID token is signed with the key SigningKey reports.
	kid, key := idp.SigningKey()
	if key == nil || key.N.BitLen() != 2048 {
		t.Errorf("SigningKey: want a 2048-bit RSA key")
	}
	h := jwtHeader(t, tok.Extra("id_token").(string))
	if h.Algorithm != "RS256" || h.KeyID != kid {
		t.Errorf("ID token header alg=%s kid=%s, want RS256 %s", h.Algorithm, h.KeyID, kid)
	}

	// A code is single-use.
	if _, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(f.verifier)); err == nil {
		t.Error("second exchange of the same code succeeded")
	}

	ui, err := f.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uiClaims map[string]any
	if err := ui.Claims(&uiClaims); err != nil {
		t.Fatal(err)
	}
	checkVCFClaims(t, "userinfo", uiClaims, testUsers[0])

	// Refresh: a new access token and ID token with the same claims.
	tok2, err := f.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == "" || tok2.AccessToken == tok.AccessToken {
		t.Error("refresh did not return a new access token")
	}
	_, claims2 := f.verifyID(tok2)
	checkVCFClaims(t, "refreshed ID token", claims2, testUsers[0])

	// Revoke the refresh token (RFC 7009), then refreshing fails.
	var meta struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if err := f.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if idp.Revoked(tok.RefreshToken) {
		t.Fatal("Revoked before revocation")
	}
	revoke(t, meta.Revocation, tok.RefreshToken, "refresh_token", true)
	if !idp.Revoked(tok.RefreshToken) {
		t.Error("Revoked = false after revocation")
	}
	_, err = f.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after revocation: err = %v, want invalid_grant", err)
	}
	// Access tokens issued with the refresh token went with it.
	if _, err := f.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok2)); err == nil {
		t.Error("userinfo with an access token of a revoked refresh token succeeded")
	}
	// Revoking again is not an error (RFC 7009 section 2.2).
	revoke(t, meta.Revocation, tok.RefreshToken, "", false)
}

func revoke(t *testing.T, endpoint, token, hint string, basic bool) {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if !basic {
		form.Set("client_id", testClientID)
		form.Set("client_secret", testSecret)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(testClientID, testSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("revocation: status %d: %s", resp.StatusCode, b)
	}
}

func TestRevokeAccessToken(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	tok := f.exchange(f.login(browser(t), "bob", "bob-pw").Get("code"))
	if _, err := f.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var meta struct {
		Revocation string `json:"revocation_endpoint"`
	}
	_ = f.provider.Claims(&meta)
	revoke(t, meta.Revocation, tok.AccessToken, "access_token", false)
	if _, err := f.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo with a revoked access token succeeded")
	}
	if idp.Revoked(tok.RefreshToken) {
		t.Error("revoking the access token revoked the refresh token")
	}
}

func TestClientSecretPost(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInParams)
	tok := f.exchange(f.login(browser(t), "bob", "bob-pw").Get("code"))
	_, claims := f.verifyID(tok)
	checkVCFClaims(t, "ID token", claims, testUsers[1])
	tok2, err := f.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh with client_secret_post: %v", err)
	}
	f.verifyID(tok2)
}

func TestWrongClientSecret(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	code := f.login(browser(t), "alice", "alice-pw").Get("code")
	f.cfg.ClientSecret = "wrong"
	if _, err := f.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Error("exchange with a wrong secret succeeded")
	}
}

func TestPKCEVerifierChecked(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	code := f.login(browser(t), "alice", "alice-pw").Get("code")
	if _, err := f.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("exchange with a wrong PKCE verifier succeeded")
	}
}

func TestDeny(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)
	id := loginForm(t, c, idp.Issuer(), f.authURL())
	resp, body := postForm(t, c, idp.Issuer()+"/login", url.Values{"authRequestID": {id}, "action": {"deny"}})
	q := callback(t, resp, body)
	if q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Get("error_description") == "" || q.Get("code") != "" {
		t.Errorf("deny callback = %v, want error=access_denied with description and state %s", q, f.state)
	}
}

func TestWrongPassword(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)
	id := loginForm(t, c, idp.Issuer(), f.authURL())
	for _, user := range []string{"alice", `<b>"eve"</b>`} {
		resp, body := postForm(t, c, idp.Issuer()+"/login", url.Values{
			"authRequestID": {id}, "username": {user}, "password": {"s3cret-guess"}, "action": {"login"},
		})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Invalid username or password") {
			t.Fatalf("bad credentials: status %d, body %q", resp.StatusCode, body)
		}
		if strings.Contains(body, "s3cret-guess") {
			t.Error("form echoes the password")
		}
		if strings.Contains(body, "<b>") {
			t.Error("username not HTML-escaped")
		}
		if !strings.Contains(body, `name="authRequestID" value="`+id+`"`) {
			t.Error("form again lacks the auth request ID")
		}
	}
	// The form still works afterwards.
	resp, body := postForm(t, c, idp.Issuer()+"/login", url.Values{
		"authRequestID": {id}, "username": {"alice"}, "password": {"alice-pw"}, "action": {"login"},
	})
	if q := callback(t, resp, body); q.Get("code") == "" {
		t.Errorf("login after a wrong password: %v", q)
	}
}

func TestPromptAndSession(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)

	// prompt=none without a session: login_required, state kept.
	resp, body := get(t, c, f.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	q := callback(t, resp, body)
	if q.Get("error") != "login_required" || q.Get("state") != f.state {
		t.Errorf("prompt=none without session: %v", q)
	}

	f.login(c, "alice", "alice-pw")

	// prompt=none with a session: a code straight away, no form.
	resp, body = get(t, c, f.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	q = callback(t, resp, body)
	if q.Get("code") == "" || q.Get("state") != f.state {
		t.Fatalf("prompt=none with session: %v", q)
	}
	tok := f.exchange(q.Get("code"))
	idt, claims := f.verifyID(tok)
	checkVCFClaims(t, "SSO ID token", claims, testUsers[0])
	if idt.Nonce != f.nonce {
		t.Errorf("nonce = %q", idt.Nonce)
	}

	// No prompt with a session: no form either.
	resp, body = get(t, c, f.authURL())
	if q := callback(t, resp, body); q.Get("code") == "" {
		t.Errorf("no prompt with session: %v", q)
	}

	// prompt=login forces the form, and another user may sign in.
	f.login(c, "bob", "bob-pw", oauth2.SetAuthURLParam("prompt", "login"))

	// Another browser has no session.
	resp, body = get(t, browser(t), f.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	if q := callback(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("other browser prompt=none: %v", q)
	}
}

func TestEndSessionEndsSSO(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)
	tok := f.exchange(f.login(c, "alice", "alice-pw").Get("code"))
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = f.provider.Claims(&meta)
	u := meta.EndSession + "?" + url.Values{
		"id_token_hint":            {tok.Extra("id_token").(string)},
		"post_logout_redirect_uri": {"http://127.0.0.1:1/"},
		"state":                    {"bye"},
	}.Encode()
	resp, body := get(t, c, u)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "http://127.0.0.1:1/?state=bye") {
		t.Fatalf("end_session: status %d location %q body %q", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = get(t, c, f.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	if q := callback(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after end_session: %v", q)
	}
}

func TestUnregisteredRedirectURI(t *testing.T) {
	idp := startIdP(t)
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	f.cfg.RedirectURL = "http://127.0.0.1:1/evil"
	resp, _ := get(t, browser(t), f.authURL())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered redirect_uri: status %d, want 400", resp.StatusCode)
	}
}

func TestConcurrentFlows(t *testing.T) {
	idp := startIdP(t)
	// Parallel subtests of one IdP: -race checks the storage's locking.
	for i := range 8 {
		u := testUsers[i%2]
		t.Run(fmt.Sprintf("%d-%s", i, u.Username), func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, idp, oauth2.AuthStyleInHeader)
			tok := f.exchange(f.login(browser(t), u.Username, u.Password).Get("code"))
			_, claims := f.verifyID(tok)
			checkVCFClaims(t, "ID token", claims, u)
			if _, err := f.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
				t.Errorf("refresh: %v", err)
			}
		})
	}
}

func TestLifetimes(t *testing.T) {
	p, err := Start(t.Context(), Config{
		Users:               testUsers,
		Clients:             []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
		IssuerPath:          "custom/path/",
		AccessTokenLifetime: time.Minute,
		IDTokenLifetime:     2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.HasSuffix(p.Issuer(), "/custom/path") {
		t.Errorf("Issuer() = %s", p.Issuer())
	}
	f := newFlow(t, p, oauth2.AuthStyleInHeader)
	tok := f.exchange(f.login(browser(t), "alice", "alice-pw").Get("code"))
	if d := time.Until(tok.Expiry); d > time.Minute+5*time.Second || d < 30*time.Second {
		t.Errorf("access token expires in %v, want about 1m", d)
	}
	idt, _ := f.verifyID(tok)
	if d := idt.Expiry.Sub(idt.IssuedAt); d != 2*time.Minute {
		t.Errorf("ID token lifetime %v, want 2m", d)
	}
}

func TestLoadUsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `users:
  - {username: alice, password: a, name: Alice, acct: alice@example.com}
  - {username: bob, password: b, name: Bob, acct: bob@example.com}
`)
	users, err := LoadUsers(good)
	if err != nil {
		t.Fatalf("LoadUsers: %v", err)
	}
	if len(users) != 2 || users[1] != (User{Username: "bob", Password: "b", Name: "Bob", Acct: "bob@example.com"}) {
		t.Errorf("users = %+v", users)
	}
	if _, err := LoadUsers("../../examples/dev/users.yaml"); err != nil {
		t.Errorf("examples/dev/users.yaml: %v", err)
	}

	for name, tc := range map[string]struct{ content, want string }{
		"nousername.yaml": {`users:
  - {username: a, password: a, acct: a@x}
  - {username: b, password: b, acct: b@x}
  - {password: c, acct: c@x}
`, "users[2]: username required"},
		"dup.yaml": {`users:
  - {username: a, password: a, acct: a@x}
  - {username: a, password: b, acct: b@x}
`, "users[1] (a): duplicate username"},
		"nopassword.yaml": {`users: [{username: a, acct: a@x}]`, "users[0] (a): password required"},
		"noacct.yaml":     {`users: [{username: a, password: a}]`, "users[0] (a): acct required"},
		"colon.yaml":      {`users: [{username: "a:b", password: a, acct: a@x}]`, "users[0] (a:b): username must not contain"},
		"unknown.yaml":    {`users: [{username: a, password: a, acct: a@x, emial: a@x}]`, "emial"},
		"empty.yaml":      {``, "no users"},
		"nolist.yaml":     {`users: []`, "no users"},
		"syntax.yaml":     {`users: [`, "yaml"},
	} {
		p := write(name, tc.content)
		_, err := LoadUsers(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to name the file and say %q", name, err, tc.want)
		}
	}
	if _, err := LoadUsers(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestLocalhostAndClose(t *testing.T) {
	p, err := Start(t.Context(), Config{Addr: "localhost:0", Users: testUsers,
		Clients: []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}}})
	if err != nil {
		t.Fatalf("Start on localhost: %v", err)
	}
	if !strings.HasPrefix(p.Issuer(), "http://localhost:") {
		t.Errorf("Issuer() = %s, want the host as given", p.Issuer())
	}
	if _, err := oidc.NewProvider(t.Context(), p.Issuer()); err != nil {
		t.Errorf("discovery: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if resp, err := http.Get(p.Issuer() + "/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		t.Error("IdP still serving after Close")
	}
}

// jwtHeader returns the protected header of the compact JWS raw, which must
// be signed with RS256 (the only alg the dev IdP uses).
func jwtHeader(t *testing.T, raw string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("not an RS256 JWS: %v", err)
	}
	return jws.Signatures[0].Protected
}
