package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

// consoleProxy stands between Gatehouse and the dev IdP's CSP console. It
// records token requests and lets a test rewrite token answers.
type consoleProxy struct {
	idp *devidp.IdP
	srv *httptest.Server

	mu       sync.Mutex
	requests []tokenRequest
	// hook, when set, rewrites each token answer.
	hook func(grant string, status int, contentType string, body []byte) (int, string, []byte)
}

type tokenRequest struct {
	authorization string
	form          url.Values
}

func newConsoleHarness(t *testing.T) (*harness, *consoleProxy) {
	p := &consoleProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	h := newHarness(t, harnessOptions{consoleURL: func(idp *devidp.IdP) string {
		p.idp = idp
		return p.srv.URL
	}})
	return h, p
}

func (p *consoleProxy) setHook(f func(grant string, status int, contentType string, body []byte) (int, string, []byte)) {
	p.mu.Lock()
	p.hook = f
	p.mu.Unlock()
}

func (p *consoleProxy) lastRequest(t *testing.T) tokenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) == 0 {
		t.Fatal("no token request reached the console")
	}
	return p.requests[len(p.requests)-1]
}

func (p *consoleProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	isToken := r.URL.Path == "/csp/gateway/am/api/auth/token"
	if isToken {
		p.mu.Lock()
		p.requests = append(p.requests, tokenRequest{authorization: r.Header.Get("Authorization"), form: form})
		p.mu.Unlock()
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.idp.ConsoleURL()+r.URL.RequestURI(), strings.NewReader(string(body)))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	status, ctype := resp.StatusCode, resp.Header.Get("Content-Type")
	p.mu.Lock()
	hook := p.hook
	p.mu.Unlock()
	if isToken && hook != nil {
		status, ctype, out = hook(form.Get("grant_type"), status, ctype, out)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		w.Header().Set("Location", loc)
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// editIDToken rewrites the claims of the ID token in a token answer. The
// signature no longer matches, which Backstage's module never checks.
func editIDToken(edit func(claims map[string]any)) func(string, int, string, []byte) (int, string, []byte) {
	return func(_ string, status int, ctype string, body []byte) (int, string, []byte) {
		var tr map[string]any
		if json.Unmarshal(body, &tr) != nil || tr["id_token"] == nil {
			return status, ctype, body
		}
		parts := strings.Split(tr["id_token"].(string), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(raw, &claims)
		edit(claims)
		raw, _ = json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		tr["id_token"] = strings.Join(parts, ".")
		body, _ = json.Marshal(tr)
		return status, ctype, body
	}
}

func cspQuery() string {
	return "scope=openid&origin=" + url.QueryEscape(appOrigin) + "&flow=popup&env=development"
}

func TestVMwareCloudSignIn(t *testing.T) {
	h, console := newConsoleHarness(t)
	b := newBrowser(t)
	var authorize *url.URL
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/csp/gateway/discovery" {
			authorize = req.URL
		}
		return nil
	}
	resp, body := b.loginVia(h, "vmwareCloudServices", cspQuery(), "alice", "alice-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, _ := msg["response"].(map[string]any)
	if r == nil {
		t.Fatalf("sign-in failed: %v", msg["error"])
	}
	if p := r["profile"].(map[string]any); p["email"] != "alice@example.com" || p["displayName"] != "Alice Example" {
		t.Errorf("profile = %v", p)
	}
	h.identityOf(r, "user:default/alice", "user:default/alice", "group:default/team-a")

	// The authorize URL: every parameter, in passport-oauth2's order, then orgId.
	if authorize == nil {
		t.Fatal("the browser never reached /csp/gateway/discovery")
	}
	var names []string
	for _, kv := range strings.Split(authorize.RawQuery, "&") {
		names = append(names, strings.SplitN(kv, "=", 2)[0])
	}
	if got := strings.Join(names, ","); got != "response_type,redirect_uri,scope,code_challenge,code_challenge_method,state,client_id,orgId" {
		t.Errorf("authorize parameters = %s", got)
	}
	q := authorize.Query()
	if q.Get("response_type") != "code" || q.Get("redirect_uri") != h.base+"/api/auth/vmwareCloudServices/handler/frame" ||
		q.Get("scope") != "openid offline_access" || q.Get("code_challenge_method") != "S256" ||
		q.Get("client_id") != testCSPClientID || q.Get("orgId") != testOrgID {
		t.Errorf("authorize query = %v", q)
	}
	// The token request: a public client with Basic "<id>:", and the
	// verifier whose S256 is the code_challenge.
	tr := console.lastRequest(t)
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testCSPClientID+":")); tr.authorization != want {
		t.Errorf("Authorization = %q, want %q", tr.authorization, want)
	}
	sum := sha256.Sum256([]byte(tr.form.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") || len(tr.form.Get("code_verifier")) != 43 {
		t.Errorf("code_verifier %q does not match code_challenge %q", tr.form.Get("code_verifier"), q.Get("code_challenge"))
	}
	if tr.form.Get("client_id") != testCSPClientID || !tr.form.Has("client_secret") || tr.form.Get("client_secret") != "" || tr.form.Get("grant_type") != "authorization_code" {
		t.Errorf("token form = %v", tr.form)
	}
	if b.cookieAt(h, "/api/auth/vmwareCloudServices/refresh", "vmwareCloudServices-granted-scope") != "" {
		t.Error("a granted-scope cookie was set; VMware Cloud does not persist scopes")
	}

	// Refresh: the console rotates the refresh token, Gatehouse re-sets it.
	before := b.cookieAt(h, "/api/auth/vmwareCloudServices/refresh", "vmwareCloudServices-refresh-token")
	rresp, rbody := b.do("GET", h.base+"/api/auth/vmwareCloudServices/refresh?env=development&scope=openid", nil, xhr)
	var ref map[string]any
	_ = json.Unmarshal(rbody, &ref)
	if rresp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", rresp.StatusCode, rbody)
	}
	h.identityOf(ref, "user:default/alice", "user:default/alice", "group:default/team-a")
	if pi := ref["providerInfo"].(map[string]any); !strings.Contains(pi["scope"].(string), "openid") {
		t.Errorf("refresh providerInfo.scope = %v, want the console's scope", pi["scope"])
	}
	after := b.cookieAt(h, "/api/auth/vmwareCloudServices/refresh", "vmwareCloudServices-refresh-token")
	if before == "" || after == before {
		t.Errorf("the rotated refresh token was not re-set (before %t, changed %t)", before != "", after != before)
	}
	rt := console.lastRequest(t)
	if rt.form.Get("grant_type") != "refresh_token" || rt.form.Get("refresh_token") != before || !strings.HasPrefix(rt.authorization, "Basic ") {
		t.Errorf("refresh request = %v", rt.form)
	}

	// Logout only clears the cookie.
	lresp, _ := b.do("POST", h.base+"/api/auth/vmwareCloudServices/logout?env=development", nil, xhr)
	if lresp.StatusCode != 200 || b.cookieAt(h, "/api/auth/vmwareCloudServices/refresh", "vmwareCloudServices-refresh-token") != "" {
		t.Errorf("logout: %d, cookie left", lresp.StatusCode)
	}
}

func TestVMwareCloudRejections(t *testing.T) {
	h, console := newConsoleHarness(t)
	for _, c := range []struct {
		name, user      string
		hook            func(string, int, string, []byte) (int, string, []byte)
		errName, errMsg string
	}{
		{name: "org mismatch", user: "frank", errName: "Error", errMsg: "ID token organizationId mismatch"},
		{name: "missing claim", user: "alice", hook: editIDToken(func(c map[string]any) { delete(c, "email") }),
			errName: "Error", errMsg: "ID token missing required claims: email"},
		{name: "wrong claim type", user: "alice", hook: editIDToken(func(c map[string]any) { c["given_name"] = 42 }),
			errName: "Error", errMsg: "ID token claims type mismatch: given_name"},
		{name: "token endpoint 500", user: "alice", hook: func(string, int, string, []byte) (int, string, []byte) {
			return 500, "text/html", []byte("<html>Internal Server Error</html>")
		}, errName: "ServiceUnavailableError", errMsg: "Authentication failed, Failed to obtain access token - the token endpoint answered HTTP 500 (text/html)"},
		{name: "token endpoint HTML", user: "alice", hook: func(string, int, string, []byte) (int, string, []byte) {
			return 200, "text/html", []byte("<html>maintenance</html>")
		}, errName: "AuthenticationError", errMsg: "Authentication failed, Failed to obtain access token - the token endpoint answered text/html, not JSON"},
		{name: "token endpoint 400 JSON", user: "alice", hook: func(string, int, string, []byte) (int, string, []byte) {
			return 400, "application/json", []byte(`{"message":"invalid_grant: code expired"}`)
		}, errName: "AuthenticationError", errMsg: "Authentication failed, Failed to obtain access token - invalid_grant: code expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			console.setHook(c.hook)
			defer console.setHook(nil)
			b := newBrowser(t)
			resp, body := b.loginVia(h, "vmwareCloudServices", cspQuery(), c.user, c.user+"-test-password", "login")
			name, msg := popupError(t, resp, body)
			if name != c.errName || msg != c.errMsg {
				t.Errorf("got %s %q, want %s %q", name, msg, c.errName, c.errMsg)
			}
		})
	}

	t.Run("refresh without id_token", func(t *testing.T) {
		b := newBrowser(t)
		resp, body := b.loginVia(h, "vmwareCloudServices", cspQuery(), "alice", "alice-test-password", "login")
		if msg := popupMessage(t, resp, body); msg["response"] == nil {
			t.Fatalf("sign-in failed: %v", msg["error"])
		}
		console.setHook(func(grant string, status int, ctype string, body []byte) (int, string, []byte) {
			var tr map[string]any
			_ = json.Unmarshal(body, &tr)
			delete(tr, "id_token")
			body, _ = json.Marshal(tr)
			return status, ctype, body
		})
		defer console.setHook(nil)
		rresp, rbody := b.do("GET", h.base+"/api/auth/vmwareCloudServices/refresh?env=development", nil, xhr)
		assertEnvelope(t, rresp.StatusCode, rbody, 401, "AuthenticationError",
			"Refresh failed; caused by Error: Failed to parse id token and get profile info, missing token from session")
	})
}

// TestVMwareCloudSignatureCheck: with verifyIdTokenSignature the console's
// JWKS must vouch for the ID token; by default, as in Backstage, it is not
// checked, so an edited token passes the same claim checks.
func TestVMwareCloudSignatureCheck(t *testing.T) {
	h, console := newConsoleHarness(t)
	query := "scope=openid&origin=" + url.QueryEscape(appOrigin) + "&flow=popup&env=verified"
	b := newBrowser(t)
	resp, body := b.loginVia(h, "vmwareCloudServices", query, "alice", "alice-test-password", "login")
	if msg := popupMessage(t, resp, body); msg["response"] == nil {
		t.Fatalf("a genuine ID token was refused: %v", msg["error"])
	}
	console.setHook(editIDToken(func(c map[string]any) { c["email"] = "bob@corp.example.com" }))
	defer console.setHook(nil)
	b = newBrowser(t)
	resp, body = b.loginVia(h, "vmwareCloudServices", query, "alice", "alice-test-password", "login")
	name, msg := popupError(t, resp, body)
	if name != "AuthenticationError" || !strings.HasPrefix(msg, "Authentication rejected, ID token verification failed") {
		t.Errorf("edited ID token with verification on: %s %q", name, msg)
	}
	b = newBrowser(t)
	resp, body = b.loginVia(h, "vmwareCloudServices", cspQuery(), "alice", "alice-test-password", "login")
	if m := popupMessage(t, resp, body); m["response"] == nil {
		t.Errorf("without verification (Backstage's behaviour) the edited token should pass: %v", m["error"])
	}
}

// TestVMwareCloudDocsConfig: the block from Backstage's VMware Cloud docs,
// verbatim, passes `gatehouse check`; without organizationId it does not.
func TestVMwareCloudDocsConfig(t *testing.T) {
	const docs = `
app: {baseUrl: http://localhost:3000}
backend: {baseUrl: http://localhost:7007}
auth:
  environment: development
  session:
    secret: ${SESSION_SECRET}
  providers:
    vmwareCloudServices:
      development:
        clientId: ${APP_ID}
        organizationId: ${ORG_ID}
        sessionDuration: { hours: 24 }
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
`
	t.Setenv("SESSION_SECRET", "a-session-secret")
	t.Setenv("APP_ID", "an-app-id")
	t.Setenv("ORG_ID", "an-org-id")
	dir := t.TempDir()
	file := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(file, []byte(docs), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if code := run(t.Context(), []string{"check", "--config", file}, &out, &out); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out.String())
	}
	if err := os.WriteFile(file, []byte(strings.Replace(docs, "organizationId: ${ORG_ID}", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code := run(t.Context(), []string{"check", "--config", file}, &out, &out)
	if code != 1 || !strings.Contains(out.String(), "auth.providers.vmwareCloudServices.development.organizationId: required") {
		t.Errorf("check without organizationId: exit %d\n%s", code, out.String())
	}
}
