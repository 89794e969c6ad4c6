// Package e2e runs Gatehouse end to end over real HTTP: the gateway built
// from a config, the dev IdP (a real OpenID provider), real PostgreSQL,
// headless Chromium, a real Backstage backend, and the gatehouse binary
// itself for its commands. harness_test.go starts the pieces.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/server/oauth"
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
	gw    *gateway.Gateway
	srv   *httptest.Server
	base  string // http://127.0.0.1:port
	clock *testClock
	logs  *testlog.Buffer
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
	// noServer leaves the listener unserved, for a test that runs the
	// gateway's Serve: the gateway gets it (and metricsListener) to serve.
	noServer        bool
	metricsListener net.Listener
	// backendYAML is appended to the backend flow map after baseUrl, e.g.
	// ", cors: {origin: x}" (transport_test.go).
	backendYAML string
	// https makes the base URL https; backendYAML must set backend.https.
	https bool
	// db is the opened database for the key and user info stores, as
	// gatehouse serve passes it (faults_test.go cuts it away).
	db *sqlstore.DB
	// sessionEnds, when set, keeps the session-end records instead of db.
	sessionEnds identity.SessionEndStore
	// authYAML is inserted into the auth block after session, indented
	// by two spaces, e.g. the authorization server's blocks (oauth_test.go).
	authYAML string
	// publicBase, when set, is backend.baseUrl instead of the harness's
	// own address: a second replica behind the first one's public URL
	// (oauth_replicas_test.go). Requests still go to h.base, the
	// harness's own listener.
	publicBase string
	// cimdFetcher, when set, fetches CIMD client documents (a test CA's
	// loopback server, mcp_interop_test.go).
	cimdFetcher oauth.ClientFetcher
}

// startVCFIdP starts the dev IdP with the test users and the vcfsso test
// client allowed to return to callback, changed by each of change; it
// closes with the test.
func startVCFIdP(t testing.TB, callback string, change ...func(c *devidp.Client)) *devidp.IdP {
	t.Helper()
	client := devidp.Client{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{callback}}
	for _, f := range change {
		f(&client)
	}
	idp, err := devidp.Start(context.Background(), devidp.Config{
		Users:   testUsers,
		Clients: []devidp.Client{client},
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
	public := base
	if o.publicBase != "" {
		public = o.publicBase
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
%[12]s  providers:
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
`, appOrigin, public, metadata, catPath, testSessionKey, testClientID, testClientSecret, testCSPClientID, testOrgID, console, o.backendYAML, o.authYAML)
	if o.extraYAML != nil {
		yaml += o.extraYAML(base)
	}
	cfg, err := config.LoadBytes("test-app-config.yaml", []byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	logs := &testlog.Buffer{}
	secrets := &secretRecorder{}
	gw, err := gateway.Build(cfg, gateway.Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: clock.Now, HTTPClient: secrets.client(o.httpClient), DB: o.db, SessionEnds: o.sessionEnds, MetricsListener: o.metricsListener, Listener: noServerListener(o, ln), CIMDFetcher: o.cimdFetcher})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, idp: idp, gw: gw, base: base, clock: clock, logs: logs, secrets: secrets}
	if o.noServer {
		h.ln = ln
		t.Cleanup(func() { ln.Close() })
	} else {
		srv := httptest.NewUnstartedServer(gw.Handler(nil))
		srv.Listener.Close()
		// backend.https and backend.limits, as Gateway.Serve applies them.
		if srv.Listener, err = gateway.WrapListener(ln, cfg); err != nil {
			t.Fatal(err)
		}
		gateway.ApplyLimits(srv.Config, cfg.Backend.Limits)
		srv.Start()
		t.Cleanup(srv.Close)
		h.srv = srv
	}
	t.Cleanup(func() { h.assertNoSecretsLogged() })
	return h
}

// noServerListener is the listener a noServer harness hands the gateway
// to serve; nil otherwise.
func noServerListener(o harnessOptions, ln net.Listener) net.Listener {
	if o.noServer {
		return ln
	}
	return nil
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
