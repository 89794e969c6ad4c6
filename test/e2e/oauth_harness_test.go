package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// This file drives issue 14's authorization server over real HTTP the way
// its real callers do: an MCP client or the Backstage CLI (authorize with
// S256 PKCE, token exchange in forms or JSON, refresh, revoke, register)
// and the Backstage frontend's consent page (GET the session, POST
// approve/reject with the signed-in user's Bearer token). The user's
// Backstage token always comes from a real sign-in through Gatehouse with
// the dev IdP; nothing here mints one.

// oauthAuthYAML turns the authorization server on, all of it: CIMD (the
// CLI, plus wildcard entries whose hosts resolve to loopback, for the SSRF
// test), DCR and refresh tokens, with Backstage's defaults otherwise.
const oauthAuthYAML = `  clientIdMetadataDocuments:
    enabled: true
    allowedClientIdPatterns: ["https://localhost:*/*", "https://127.0.0.1:*/*", "https://claude.ai/*"]
  experimentalDynamicClientRegistration: {enabled: true}
  experimentalRefreshToken: {enabled: true}
`

// oauthGracePeriod is the server's default grace period for a rotated-out
// refresh token (the preamble's named default, 10 s); tests move the
// clock past it.
const oauthGracePeriod = 10 * time.Second

// cliRedirectURI is the Backstage CLI's callback (spec §2.14).
const cliRedirectURI = "http://127.0.0.1:8055/callback"

// newOAuthHarness starts Gatehouse with the authorization server on
// (o.authYAML defaults to oauthAuthYAML).
func newOAuthHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	if o.authYAML == "" {
		o.authYAML = oauthAuthYAML
	}
	return newHarness(t, o)
}

// authBase is <A>, the public auth base URL the server advertises (the
// issuer, the prefix of the CLI's client_id).
func (h *harness) authBase() string { return gateway.AuthBaseURL(h.gw.Config()) }

// oauthClient is one client of the authorization server. A DCR client
// has a secret (confidential); CIMD clients and the CLI have none.
type oauthClient struct {
	id, secret, redirectURI string
}

func (c oauthClient) confidential() bool { return c.secret != "" }

// cli is the Backstage CLI as a client (its document is served from memory).
func (h *harness) cli() oauthClient {
	return oauthClient{id: h.authBase() + "/.well-known/oauth-client/cli.json", redirectURI: cliRedirectURI}
}

// pkcePair is an RFC 7636 verifier and its S256 challenge.
type pkcePair struct{ verifier, challenge string }

func newPKCE() pkcePair {
	v := randomB64(32)
	sum := sha256.Sum256([]byte(v))
	return pkcePair{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthAnswer is one HTTP answer of the authorization server.
type oauthAnswer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// str is a string member of the JSON answer ("" when absent).
func (a oauthAnswer) str(k string) string { s, _ := a.json[k].(string); return s }

// noRedirects is the client of every request: the 302 of /v1/authorize is
// the answer, not something to follow.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// oauthDo sends a request to path under h's /api/auth. Every answer is
// checked for what the issue asks of all of them: a 401 carries
// WWW-Authenticate, and an error_description holds no Go error text. The
// secrets an answer carries are added to the log scan.
func (h *harness) oauthDo(method, path string, body io.Reader, hdr http.Header) oauthAnswer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+"/api/auth"+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := oauthAnswer{status: resp.StatusCode, header: resp.Header, body: data}
	_ = json.Unmarshal(data, &a.json)
	if a.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		h.t.Errorf("%s %s: 401 without WWW-Authenticate: %s", method, path, data)
	}
	if d := a.str("error_description"); d != "" {
		assertNoInternalText(h.t, method+" "+path, d)
	}
	for _, k := range []string{"refresh_token", "client_secret"} {
		h.secrets.add(a.str(k))
	}
	return a
}

// goErrorText are fragments of Go and driver error texts that must never
// reach a client (spec §6.20).
var goErrorText = []string{"sql:", "sqlite", "pgx", "pq:", "SQLSTATE", "dial tcp", "connect:", "lookup ", "EOF",
	"context canceled", "context deadline", "runtime error", "nil pointer", "<nil>", "%!", "goroutine",
	"identity:", "oauth:", "sqlstore", "cimd:", "x509:", "tls:", "address is not public"}

// assertNoInternalText fails when a client-facing message carries
// internal error text.
func assertNoInternalText(t testing.TB, what, msg string) {
	t.Helper()
	for _, f := range goErrorText {
		if strings.Contains(msg, f) {
			t.Errorf("%s: the message carries internal text (%q): %s", what, f, msg)
		}
	}
}

// postForm posts form to path, with HTTP Basic credentials of basic when
// it is set.
func (h *harness) postForm(path string, form url.Values, basic *oauthClient) oauthAnswer {
	h.t.Helper()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if basic != nil {
		hdr.Set("Authorization", basicAuth(basic.id, basic.secret))
	}
	return h.oauthDo("POST", path, strings.NewReader(form.Encode()), hdr)
}

// postJSON posts v as JSON to path (the CLI's way, spec §2.14).
func (h *harness) postJSON(path string, v any, basic *oauthClient) oauthAnswer {
	h.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if basic != nil {
		hdr.Set("Authorization", basicAuth(basic.id, basic.secret))
	}
	return h.oauthDo("POST", path, bytes.NewReader(data), hdr)
}

// basicAuth is client_secret_basic (RFC 6749 §2.3.1: form-encoded halves).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// register registers a DCR client for redirectURI and returns it.
func (h *harness) register(t testing.TB, name, redirectURI string) oauthClient {
	t.Helper()
	// What the MCP SDK sends: both grants, so refresh is allowed.
	a := h.postJSON("/v1/register", map[string]any{"client_name": name, "redirect_uris": []string{redirectURI},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}}, nil)
	if a.status != http.StatusCreated || a.str("client_id") == "" || a.str("client_secret") == "" {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	return oauthClient{id: a.str("client_id"), secret: a.str("client_secret"), redirectURI: redirectURI}
}

// authRequest is one authorization in progress.
type authRequest struct {
	client    oauthClient
	pkce      pkcePair
	state     string
	scope     string
	sessionID string
}

// authorizeQuery is the query of a /v1/authorize for c with S256 PKCE.
func authorizeQuery(c oauthClient, p pkcePair, scope, state string) url.Values {
	return url.Values{
		"client_id": {c.id}, "redirect_uri": {c.redirectURI}, "response_type": {"code"},
		"scope": {scope}, "state": {state},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
}

// authorizeRaw is GET /v1/authorize?q.
func (h *harness) authorizeRaw(q url.Values) oauthAnswer {
	h.t.Helper()
	return h.oauthDo("GET", "/v1/authorize?"+q.Encode(), nil, nil)
}

// authorize starts an authorization for c (with the extra parameters) and
// returns it with the consent session's id: the last path segment of the
// 302 to the app's consent page.
func (h *harness) authorize(t testing.TB, c oauthClient, scope string, extra ...url.Values) *authRequest {
	t.Helper()
	ar := &authRequest{client: c, pkce: newPKCE(), state: randomB64(12), scope: scope}
	q := authorizeQuery(c, ar.pkce, scope, ar.state)
	for _, e := range extra {
		for k, v := range e {
			q[k] = v
		}
	}
	a := h.authorizeRaw(q)
	loc := a.header.Get("Location")
	prefix := appOrigin + "/oauth2/authorize/"
	if a.status != http.StatusFound || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("authorize %s: %d Location %q: %s", c.id, a.status, loc, a.body)
	}
	ar.sessionID = loc[strings.LastIndex(loc, "/")+1:]
	return ar
}

// decide is what the consent page's buttons send: POST approve or reject
// with Content-Type application/json, no body, and the user's Bearer
// token (none when bearer is "").
func (h *harness) decide(sessionID, decision, bearer string) oauthAnswer {
	h.t.Helper()
	hdr := http.Header{"Content-Type": {"application/json"}}
	if bearer != "" {
		hdr.Set("Authorization", "Bearer "+bearer)
	}
	return h.oauthDo("POST", "/v1/sessions/"+url.PathEscape(sessionID)+"/"+decision, nil, hdr)
}

// approve plays the consent page: it loads the session as the page does,
// approves it with the user's token, checks the redirect (code, state,
// iss in that order, RFC 9207) and returns the code.
func (h *harness) approve(t testing.TB, ar *authRequest, userToken string) string {
	t.Helper()
	s := h.oauthDo("GET", "/v1/sessions/"+ar.sessionID, nil, http.Header{"Authorization": {"Bearer " + userToken}})
	if s.status != http.StatusOK || s.str("id") != ar.sessionID || s.str("clientId") != ar.client.id || s.str("redirectUri") != ar.client.redirectURI {
		t.Fatalf("GET session: %d %s", s.status, s.body)
	}
	a := h.decide(ar.sessionID, "approve", userToken)
	if a.status != http.StatusOK {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	u := redirectOf(t, a)
	q := u.Query()
	if q.Get("state") != ar.state || q.Get("iss") != h.authBase() || q.Get("code") == "" {
		t.Fatalf("approve's redirectUrl %s: want code, state %q and iss %q", u, ar.state, h.authBase())
	}
	if got := u.RawQuery; !strings.HasPrefix(got, "code=") || strings.Index(got, "&state=") > strings.Index(got, "&iss=") {
		t.Errorf("approve's redirectUrl query %q: want code, then state, then iss", got)
	}
	h.secrets.add(q.Get("code"))
	return q.Get("code")
}

// redirectOf parses the redirectUrl of a consent answer; it must point at
// the client's redirect URI.
func redirectOf(t testing.TB, a oauthAnswer) *url.URL {
	t.Helper()
	u, err := url.Parse(a.str("redirectUrl"))
	if err != nil || u.Host == "" {
		t.Fatalf("consent answer without a redirectUrl: %d %s", a.status, a.body)
	}
	return u
}

// exchangeForm redeems code as an MCP client does: a form, with HTTP
// Basic for a confidential client and client_id for a public one.
func (h *harness) exchangeForm(ar *authRequest, code string) oauthAnswer {
	h.t.Helper()
	h.secrets.add(ar.pkce.verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ar.client.redirectURI}, "code_verifier": {ar.pkce.verifier}}
	if ar.client.confidential() {
		return h.postForm("/v1/token", form, &ar.client)
	}
	form.Set("client_id", ar.client.id)
	return h.postForm("/v1/token", form, nil)
}

// exchangeJSON redeems code as the Backstage CLI does: JSON, no client_id.
func (h *harness) exchangeJSON(ar *authRequest, code string) oauthAnswer {
	h.t.Helper()
	h.secrets.add(ar.pkce.verifier)
	return h.postJSON("/v1/token", map[string]string{"grant_type": "authorization_code", "code": code,
		"redirect_uri": ar.client.redirectURI, "code_verifier": ar.pkce.verifier}, nil)
}

// refreshAs presents rt as client c: HTTP Basic for a confidential
// client, a JSON body without client_id for a public one (the CLI's way).
func (h *harness) refreshAs(c oauthClient, rt string) oauthAnswer {
	h.t.Helper()
	if c.confidential() {
		return h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, &c)
	}
	return h.postJSON("/v1/token", map[string]string{"grant_type": "refresh_token", "refresh_token": rt}, nil)
}

// revokeAs revokes token as client c: HTTP Basic for a confidential
// client; for a public one the CLI's logout body, without client_id.
func (h *harness) revokeAs(c oauthClient, token string) oauthAnswer {
	h.t.Helper()
	if c.confidential() {
		return h.postForm("/v1/revoke", url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}, &c)
	}
	return h.postJSON("/v1/revoke", map[string]string{"token": token, "token_type_hint": "refresh_token"}, nil)
}

// tokenAnswer checks a successful token answer (spec §2.9, with the
// issue's headers and real expires_in) and verifies its access token as a
// Backstage backend would.
func (h *harness) tokenAnswer(t testing.TB, what string, a oauthAnswer, wantRefresh bool) (access, refresh string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, a.status, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Pragma") != "no-cache" {
		t.Errorf("%s: Cache-Control %q, Pragma %q; want no-store, no-cache", what, a.header.Get("Cache-Control"), a.header.Get("Pragma"))
	}
	if a.str("token_type") != "Bearer" {
		t.Errorf("%s: token_type %v", what, a.json["token_type"])
	}
	if exp, _ := a.json["expires_in"].(float64); time.Duration(exp)*time.Second != h.gw.Tokens().Expiration() {
		t.Errorf("%s: expires_in %v, want the real lifetime %s", what, a.json["expires_in"], h.gw.Tokens().Expiration())
	}
	access, refresh = a.str("access_token"), a.str("refresh_token")
	claims := h.verifyToken(access, identity.TypeUser)
	if claims["sub"] != "user:default/alice" || claims["iss"] != h.authBase() || claims["uip"] == nil {
		t.Errorf("%s: access token claims %v", what, claims)
	}
	if _, ok := claims["ent"]; ok {
		t.Errorf("%s: the access token carries ent: %v", what, claims)
	}
	if wantRefresh != (refresh != "") {
		t.Fatalf("%s: refresh_token %q, want one: %v", what, refresh, wantRefresh)
	}
	if refresh != "" {
		id, secret, ok := strings.Cut(refresh, ".")
		if !ok || len(id) != 36 || len(secret) != 43 {
			t.Errorf("%s: refresh token shape %d.%d, want <uuid>.<43 chars>", what, len(id), len(secret))
		}
	}
	return access, refresh
}

// wantOAuthError checks an OAuth-style error answer; wantDesc "" accepts
// any description.
func wantOAuthError(t testing.TB, what string, a oauthAnswer, status int, code, wantDesc string) {
	t.Helper()
	if a.status != status || a.str("error") != code || (wantDesc != "" && a.str("error_description") != wantDesc) {
		t.Errorf("%s: got %d %s, want %d %s %q", what, a.status, a.body, status, code, wantDesc)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: an error answer without Cache-Control: no-store (%q)", what, a.header.Get("Cache-Control"))
	}
}

// wantEnvelope checks Backstage's error envelope; wantMsg "" accepts any
// message, which is returned.
func wantEnvelope(t testing.TB, what string, a oauthAnswer, status int, name, wantMsg string) string {
	t.Helper()
	var env struct {
		Error    struct{ Name, Message string }
		Response struct{ StatusCode int }
	}
	if err := json.Unmarshal(a.body, &env); err != nil || env.Error.Name == "" {
		t.Errorf("%s: not an error envelope (%d): %s", what, a.status, a.body)
		return ""
	}
	if a.status != status || env.Response.StatusCode != status || env.Error.Name != name || (wantMsg != "" && env.Error.Message != wantMsg) {
		t.Errorf("%s: got %d %s %q, want %d %s %q", what, a.status, env.Error.Name, env.Error.Message, status, name, wantMsg)
	}
	assertNoInternalText(t, what, env.Error.Message)
	return env.Error.Message
}

// signInUser signs user in through Gatehouse with the dev IdP and returns
// the Backstage token the app would hold.
func signInUser(t testing.TB, h *harness, user string) string {
	t.Helper()
	b := newBrowser(t)
	resp, body := b.login(h, startQuery("development"), user, user+"-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, ok := msg["response"].(map[string]any)
	if !ok {
		t.Fatalf("sign-in of %s: %v", user, msg)
	}
	return r["backstageIdentity"].(map[string]any)["token"].(string)
}

// grantTokens runs a whole authorization for c with the offline_access
// scope and returns the token answer's access and refresh tokens.
func (h *harness) grantTokens(t testing.TB, c oauthClient, userToken string) (access, refresh string) {
	t.Helper()
	ar := h.authorize(t, c, "openid offline_access")
	code := h.approve(t, ar, userToken)
	return h.tokenAnswer(t, "exchange for "+c.id, h.exchange(ar, code), true)
}

// exchange redeems code the way ar's client does: a form with client
// authentication (an MCP client), or the CLI's JSON.
func (h *harness) exchange(ar *authRequest, code string) oauthAnswer {
	h.t.Helper()
	if ar.client.confidential() {
		return h.exchangeForm(ar, code)
	}
	return h.exchangeJSON(ar, code)
}

// revokeAndCheck revokes rt as c (200, empty body, as Backstage) and
// checks that it no longer refreshes.
func (h *harness) revokeAndCheck(t testing.TB, c oauthClient, rt string) {
	t.Helper()
	if a := h.revokeAs(c, rt); a.status != 200 || len(a.body) != 0 {
		t.Fatalf("revoke as %s: %d %s", c.id, a.status, a.body)
	}
	wantOAuthError(t, "refresh after revocation", h.refreshAs(c, rt), 400, "invalid_grant", "")
}
