package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/dbstore"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

// appOrigin plays the Backstage app; it is never served, only posted to.
const appOrigin = "http://localhost:3000"

const testCatalog = `apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec:
  profile: {email: alice@example.com, displayName: Alice}
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec:
  profile: {email: bob@corp.example.com}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: dup1}
spec:
  profile: {email: dup@example.com}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: dup2}
spec:
  profile: {email: dup@example.com}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
`

var testUsers = []devidp.User{
	{Username: "alice", Password: "alice-test-password", Name: "Alice Example", Acct: "alice@example.com"},
	// bob's acct is not his catalog email: the second resolver finds him.
	{Username: "bob", Password: "bob-test-password", Name: "Bob Example", Acct: "bob@example.com"},
	{Username: "carol", Password: "carol-test-password", Name: "Carol", Acct: "carol@example.com"},
	{Username: "dave", Password: "dave-test-password", Name: "Dave", Acct: "dup@example.com"},
	// frank is in another VMware Cloud organization.
	{Username: "frank", Password: "frank-test-password", Name: "Frank Other", Acct: "alice@example.com", Org: "other-org"},
}

const (
	testCSPClientID  = "gatehouse-test-csp"
	testOrgID        = "test-org"
	testClientID     = "gatehouse-test"
	testClientSecret = "gatehouse-test-client-secret"
	testSessionKey   = "gatehouse-test-session-secret"
)

// testClock is the server's clock; tests move it to expire things.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.offset += d; c.mu.Unlock() }

type harness struct {
	t     testing.TB
	idp   *devidp.IdP
	gw    *gateway
	srv   *httptest.Server
	base  string // http://127.0.0.1:port
	clock *testClock
	logs  *syncBuffer
	// ln is the unserved listener of a noServer harness.
	ln net.Listener
	// secrets are the codes and tokens Gatehouse exchanged with the IdP
	// (ops_test.go); none may appear in the logs.
	secrets *secretRecorder
}

type harnessOptions struct {
	// metadataURL overrides the IdP's issuer URL (for the tampering proxy).
	metadataURL func(idp *devidp.IdP) string
	// consoleURL overrides the CSP console endpoint (for consoleProxy).
	consoleURL func(idp *devidp.IdP) string
	// httpClient is Gatehouse's client towards the IdP.
	httpClient *http.Client
	// extraYAML, given Gatehouse's base URL, is appended to the config as
	// top-level blocks, e.g. gatehouse.catalog (interop_test.go).
	extraYAML func(base string) string
	// noServer leaves the listener unserved, for a test that runs serve().
	noServer bool
	// backendYAML is appended to the backend flow map after baseUrl, e.g.
	// ", cors: {origin: x}" (edge tests, edge_test.go).
	backendYAML string
	// https makes the base URL https; backendYAML must set backend.https.
	https bool
	// db is the opened database for the key and user info stores, as
	// serve() passes it (faults_test.go cuts it away).
	db *dbstore.DB
}

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startVCFIdP starts the dev IdP with the test users and the vcfsso test
// client allowed to return to callback; it closes with the test.
func startVCFIdP(t testing.TB, callback string) *devidp.IdP {
	t.Helper()
	idp, err := devidp.Start(context.Background(), devidp.Config{
		Users:   testUsers,
		Clients: []devidp.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{callback}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

// newHarness starts the dev IdP and Gatehouse on loopback, over real HTTP.
func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if o.https {
		base = "https://" + ln.Addr().String()
	}
	idp, err := devidp.Start(context.Background(), devidp.Config{
		Users: testUsers,
		Clients: []devidp.Client{
			{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{base + "/api/auth/vcfsso/handler/frame", base + "/api/auth/oidc/handler/frame"}},
			{ID: testCSPClientID, Secret: "unused-public-client", RedirectURIs: []string{base + "/api/auth/vmwareCloudServices/handler/frame"}},
		},
		ConsoleOrgID: testOrgID,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	metadata := idp.Issuer() + "/"
	if o.metadataURL != nil {
		metadata = o.metadataURL(idp)
	}
	console := idp.ConsoleURL()
	if o.consoleURL != nil {
		console = o.consoleURL(idp)
	}
	dir := t.TempDir()
	catPath := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catPath, []byte(testCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
app: {baseUrl: %[1]s}
backend: {baseUrl: %[2]s%[11]s}
auth:
  session: {secret: %[5]s}
  providers:
    vcfsso:
      development: &dev
        metadataUrl: %[3]s
        clientId: %[6]s
        clientSecret: %[7]s
        prompt: auto
        additionalScopes: [offline_access]
        sessionDuration: {hours: 24}
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: preferredUsernameMatchingUserEntityName
      production:
        metadataUrl: %[3]s
        clientId: %[6]s
        clientSecret: %[7]s
        prompt: auto
        signIn:
          resolvers:
            - resolver: emailLocalPartMatchingUserEntityName
              allowedDomains: [corp.example.com]
            - resolver: emailMatchingUserEntityProfileEmail
    # Backstage's own oidc provider block, unchanged: client_secret_post,
    # and its default transform (email only when email_verified).
    oidc:
      development:
        metadataUrl: %[3]s
        clientId: %[6]s
        clientSecret: %[7]s
        tokenEndpointAuthMethod: client_secret_post
        prompt: auto
        signIn:
          resolvers:
            - resolver: preferredUsernameMatchingUserEntityName
    vmwareCloudServices:
      development:
        clientId: %[8]s
        organizationId: %[9]s
        consoleEndpoint: %[10]s
        sessionDuration: {hours: 24}
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
      # Beyond Backstage: the ID token's signature is checked against the
      # console's JWKS.
      verified:
        clientId: %[8]s
        organizationId: %[9]s
        consoleEndpoint: %[10]s
        verifyIdTokenSignature: true
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
catalog:
  locations:
    - {type: file, target: %[4]s}
`, appOrigin, base, metadata, catPath, testSessionKey, testClientID, testClientSecret, testCSPClientID, testOrgID, console, o.backendYAML)
	if o.extraYAML != nil {
		yaml += o.extraYAML(base)
	}
	cfg, err := config.LoadBytes("test-app-config.yaml", []byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	logs := &syncBuffer{}
	secrets := &secretRecorder{}
	gw, err := build(cfg, buildOptions{logger: slog.New(slog.NewTextHandler(logs, nil)), now: clock.Now, httpClient: secrets.client(o.httpClient), db: o.db})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, idp: idp, gw: gw, base: base, clock: clock, logs: logs, secrets: secrets}
	if o.noServer {
		h.ln = ln
		t.Cleanup(func() { ln.Close() })
	} else {
		srv := httptest.NewUnstartedServer(rootHandler(gw, nil))
		srv.Listener.Close()
		// backend.https and backend.limits, as serve() applies them.
		if srv.Listener, err = edgeListener(ln, cfg); err != nil {
			t.Fatal(err)
		}
		applyLimits(srv.Config, cfg.Backend.Limits)
		srv.Start()
		t.Cleanup(srv.Close)
		h.srv = srv
	}
	t.Cleanup(func() { h.assertNoSecretsLogged() })
	return h
}

// assertNoSecretsLogged checks the server's logs hold no secret and no
// token-looking string.
func (h *harness) assertNoSecretsLogged() {
	logs := h.logs.String()
	for _, s := range append([]string{testClientSecret, testSessionKey, "-test-password", "eyJ"}, h.secrets.values()...) {
		if strings.Contains(logs, s) {
			h.t.Errorf("the server logged a secret or token (%q):\n%s", s, logs)
		}
	}
}

// browser is a user agent with a cookie jar that stops at the app origin.
type browser struct {
	t   testing.TB
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if "http://"+req.URL.Host == appOrigin || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

func (b *browser) do(method, u string, body url.Values, hdr map[string]string) (*http.Response, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

var (
	formActionRE = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	authReqRE    = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

// login starts a sign-in and answers the dev IdP's form. action is
// "login" or "deny". It returns the final response (the popup page, or the
// redirect to the app).
func (b *browser) login(h *harness, query, user, password, action string) (*http.Response, []byte) {
	b.t.Helper()
	return b.loginVia(h, "vcfsso", query, user, password, action)
}

func (b *browser) loginVia(h *harness, provider, query, user, password, action string) (*http.Response, []byte) {
	b.t.Helper()
	resp, body := b.do("GET", h.base+"/api/auth/"+provider+"/start?"+query, nil, nil)
	if resp.StatusCode != 200 || !authReqRE.Match(body) {
		b.t.Fatalf("start did not reach the login form: %d %s", resp.StatusCode, body)
	}
	action0 := html.UnescapeString(string(formActionRE.FindSubmatch(body)[1]))
	id := html.UnescapeString(string(authReqRE.FindSubmatch(body)[1]))
	target, _ := resp.Request.URL.Parse(action0)
	form := url.Values{"authRequestID": {id}, "username": {user}, "password": {password}, "action": {action}}
	return b.do("POST", target.String(), form, nil)
}

func startQuery(env string, extra ...string) string {
	q := "scope=openid%20profile%20email&origin=" + url.QueryEscape(appOrigin) + "&flow=popup&env=" + env
	for _, e := range extra {
		q += "&" + e
	}
	return q
}

var scriptRE = regexp.MustCompile(`(?s)^<html><body><script>(.*)</script></body></html>$`)
var decodeRE = regexp.MustCompile(`decodeURIComponent\('([^']*)'\)`)

// popupMessage checks the popup page (CSP hash of the exact script,
// config_info then authorization_response) and returns the message.
func popupMessage(t testing.TB, resp *http.Response, body []byte) map[string]any {
	t.Helper()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("popup: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	m := scriptRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("popup page is not the script page: %s", body)
	}
	sum := sha256.Sum256(m[1])
	if csp, want := resp.Header.Get("Content-Security-Policy"), "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'"; csp != want {
		t.Fatalf("CSP %q does not match the script (want %q)", csp, want)
	}
	script := string(m[1])
	if i, j := strings.Index(script, "'config_info'"), strings.Index(script, "JSON.parse(authResponse)"); i < 0 || j < 0 || i > j {
		t.Fatalf("config_info must be posted before authorization_response:\n%s", script)
	}
	args := decodeRE.FindAllStringSubmatch(script, -1)
	if len(args) != 2 {
		t.Fatalf("popup script: %s", script)
	}
	msgJSON, _ := url.PathUnescape(args[0][1])
	origin, _ := url.PathUnescape(args[1][1])
	if origin != appOrigin {
		t.Errorf("popup posts to %q, want %q", origin, appOrigin)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(msgJSON), &msg); err != nil {
		t.Fatalf("popup message %s: %v", msgJSON, err)
	}
	if msg["type"] != "authorization_response" {
		t.Fatalf("popup message type = %v", msg["type"])
	}
	return msg
}

// popupError returns the error a popup page carries.
func popupError(t *testing.T, resp *http.Response, body []byte) (name, message string) {
	t.Helper()
	msg := popupMessage(t, resp, body)
	e, ok := msg["error"].(map[string]any)
	if !ok {
		t.Fatalf("popup has no error: %v", msg)
	}
	return e["name"].(string), e["message"].(string)
}

func (h *harness) jwks() jose.JSONWebKeySet {
	h.t.Helper()
	resp, err := http.Get(h.base + "/api/auth/.well-known/jwks.json")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		h.t.Fatal(err)
	}
	return set
}

// verifyToken checks a Backstage token against the JWKS as a Backstage
// backend would, and returns its claims.
func (h *harness) verifyToken(token, wantTyp string) map[string]any {
	h.t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		h.t.Fatalf("token: %v", err)
	}
	hdr := jws.Signatures[0].Protected
	if hdr.Algorithm != "ES256" || hdr.ExtraHeaders[jose.HeaderType] != wantTyp || hdr.KeyID == "" {
		h.t.Fatalf("token header = %+v", hdr)
	}
	set := h.jwks()
	keys := set.Key(hdr.KeyID)
	if len(keys) != 1 {
		h.t.Fatalf("kid %s is not in the JWKS", hdr.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		h.t.Fatalf("token signature: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	return claims
}

// identityOf checks a response's backstageIdentity and returns its token.
func (h *harness) identityOf(resp map[string]any, wantRef string, wantEnt ...string) string {
	h.t.Helper()
	bi, ok := resp["backstageIdentity"].(map[string]any)
	if !ok {
		h.t.Fatalf("no backstageIdentity in %v", resp)
	}
	token := bi["token"].(string)
	claims := h.verifyToken(token, identity.TypeUser)
	if claims["sub"] != wantRef || claims["aud"] != "backstage" || claims["iss"] != h.base+"/api/auth" {
		h.t.Errorf("token claims = %v", claims)
	}
	if _, ok := claims["ent"]; ok {
		h.t.Errorf("ent must be omitted by default: %v", claims)
	}
	id := bi["identity"].(map[string]any)
	if id["type"] != "user" || id["userEntityRef"] != wantRef || fmt.Sprint(id["ownershipEntityRefs"]) != fmt.Sprint(wantEnt) {
		h.t.Errorf("identity = %v, want %s %v", id, wantRef, wantEnt)
	}
	if exp := bi["expiresInSeconds"].(float64); exp < 3590 || exp > 3600 {
		h.t.Errorf("expiresInSeconds = %v", exp)
	}
	return token
}

var xhr = map[string]string{"X-Requested-With": "XMLHttpRequest"}

func (b *browser) refresh(h *harness, env string) (*http.Response, map[string]any) {
	b.t.Helper()
	resp, body := b.do("GET", h.base+"/api/auth/vcfsso/refresh?env="+env, nil, xhr)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp, m
}

// cookie is the cookie the browser sends to vcfsso's refresh route.
func (b *browser) cookie(h *harness, name string) string {
	return b.cookieAt(h, "/api/auth/vcfsso/refresh", name)
}

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
	// broken state gets the JSON envelope, as in Backstage (spec §1.1).
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
