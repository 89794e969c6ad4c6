package server

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
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// The flow tests run the real sign-in: the dev IdP (a real OpenID
// provider), the oidc provider, the vcfsso transform and a Server behind
// the request-id middleware, as main wires it.

const (
	flowApp          = "http://127.0.0.1:3000"
	flowClientID     = "gatehouse-server-test"
	flowClientSecret = "gatehouse-server-test-secret"
)

// flowExtraOrigins are auth.experimentalExtraAllowedOrigins of the tests.
var flowExtraOrigins = []string{"http://allowed.example", "https://*.allowed.example"}

// resolverFunc is a sign-in resolver given as a function.
type resolverFunc func(ctx context.Context, in resolvers.SignInInput) (*resolvers.SignInResult, error)

func (f resolverFunc) Resolve(ctx context.Context, in resolvers.SignInInput) (*resolvers.SignInResult, error) {
	return f(ctx, in)
}

// resolveAlice signs everyone in as alice.
var resolveAlice = resolverFunc(func(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
	return &resolvers.SignInResult{UserEntityRef: "user:default/alice"}, nil
})

type flowHarness struct {
	t    *testing.T
	base string
	logs *testlog.Buffer
}

func newFlowHarness(t *testing.T, resolver resolvers.SignInResolver) *flowHarness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	callback := base + "/api/auth/vcfsso/handler/frame"
	idp, err := devidp.Start(context.Background(), devidp.Config{
		Users:   []devidp.User{{Username: "alice", Password: "alice-test-password", Name: "Alice Example", Acct: "alice@example.com"}},
		Clients: []devidp.Client{{ID: flowClientID, Secret: flowClientSecret, RedirectURIs: []string{callback}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	logs := &testlog.Buffer{}
	logger := slog.New(requestid.NewHandler(slog.NewTextHandler(logs, nil)))
	prov, err := oidc.New(oidc.Config{ProviderID: "vcfsso", MetadataURL: idp.Issuer() + "/", ClientID: flowClientID,
		ClientSecret: flowClientSecret, CallbackURL: callback, Prompt: "auto", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	transforms, err := resolvers.NewTransforms(nil, "vcfsso", resolvers.BuiltinTransforms())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:   base + "/api/auth",
		Keys:     identity.NewMemoryKeyStore(),
		UserInfo: identity.NewMemoryUserInfoStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		AppBaseURL:          flowApp,
		AuthBaseURL:         base + "/api/auth",
		ExtraAllowedOrigins: flowExtraOrigins,
		SessionSecret:       "server-test-session-secret",
		Providers: map[string]map[string]*Environment{"vcfsso": {"development": {
			Provider: prov, Transforms: transforms, Resolver: resolver,
		}}},
		Tokens: tokens,
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(requestid.Middleware(s.Handler()))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &flowHarness{t: t, base: base, logs: logs}
}

// flowBrowser is a user agent with a cookie jar. It follows redirects
// between Gatehouse and the IdP only, and stops before the callback when
// stopAtFrame is set, so that a test can alter it.
type flowBrowser struct {
	t           *testing.T
	h           *flowHarness
	c           *http.Client
	stopAtFrame bool
}

func (h *flowHarness) browser() *flowBrowser {
	jar, _ := cookiejar.New(nil)
	b := &flowBrowser{t: h.t, h: h}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(h.base, "http://") && !strings.HasPrefix(req.URL.Path, "/acs/") {
			return http.ErrUseLastResponse // the app, or anywhere else
		}
		if b.stopAtFrame && strings.HasSuffix(req.URL.Path, "/handler/frame") {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *flowBrowser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var (
	flowFormActionRE = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	flowAuthReqRE    = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

// login runs /start with query and signs alice in at the IdP. It returns
// the last response: the IdP's redirect to the callback when stopAtFrame,
// else Gatehouse's answer to the callback.
func (b *flowBrowser) login(query string) (*http.Response, string) {
	b.t.Helper()
	resp, body := b.do("GET", b.h.base+"/api/auth/vcfsso/start?"+query, nil)
	fa, ar := flowFormActionRE.FindStringSubmatch(body), flowAuthReqRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || fa == nil || ar == nil {
		b.t.Fatalf("start did not reach the login form: %d %s", resp.StatusCode, body)
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(fa[1]))
	form := url.Values{"authRequestID": {html.UnescapeString(ar[1])}, "username": {"alice"}, "password": {"alice-test-password"}, "action": {"login"}}
	return b.do("POST", target.String(), form)
}

// callback signs in and returns the callback URL the IdP sent the browser
// to, not yet visited.
func (b *flowBrowser) callback(query string) *url.URL {
	b.t.Helper()
	b.stopAtFrame = true
	defer func() { b.stopAtFrame = false }()
	resp, body := b.login(query)
	u, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasSuffix(u.Path, "/handler/frame") {
		b.t.Fatalf("expected the IdP's redirect to the callback: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return u
}

func flowQuery(flow, origin, redirectURL string) string {
	q := url.Values{"scope": {"openid profile email"}, "env": {"development"}, "flow": {flow}}
	if origin != "" {
		q.Set("origin", origin)
	}
	if redirectURL != "" {
		q.Set("redirectUrl", redirectURL)
	}
	return q.Encode()
}

// withState returns u with its state replaced by edit(state).
func withState(t *testing.T, u *url.URL, edit func(*oauthState)) *url.URL {
	t.Helper()
	st, err := decodeState(u.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	edit(&st)
	out := *u
	q := out.Query()
	q.Set("state", encodeState(st))
	out.RawQuery = q.Encode()
	return &out
}

// envelope decodes Backstage's JSON error envelope.
func envelope(t *testing.T, resp *http.Response, body string) (status int, name, message string) {
	t.Helper()
	var env struct {
		Error    struct{ Name, Message string }
		Response struct{ StatusCode int }
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Response.StatusCode != resp.StatusCode {
		t.Fatalf("not an error envelope: %d %s", resp.StatusCode, body)
	}
	return resp.StatusCode, env.Error.Name, env.Error.Message
}

// popupPosts is what a popup page does: the origin it posts to ("" when it
// posts nothing), the message, and the text it shows.
type popupPosts struct {
	origin string
	msg    map[string]any
	text   string
}

var (
	flowScriptRE = regexp.MustCompile(`(?s)<script>(.*)</script>`)
	flowDecodeRE = regexp.MustCompile(`decodeURIComponent\('([^']*)'\)`)
	flowTagRE    = regexp.MustCompile(`<[^>]*>`)
)

// readPopup checks the popup page's CSP against its script and returns
// what it posts and shows.
func readPopup(t *testing.T, resp *http.Response, body string) popupPosts {
	t.Helper()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("not a popup page: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	var out popupPosts
	m := flowScriptRE.FindStringSubmatch(body)
	if m == nil {
		if strings.Contains(body, "<script") || !strings.Contains(csp, "script-src 'none'") {
			t.Fatalf("page without a script must forbid scripts: CSP %q, %s", csp, body)
		}
		out.text = html.UnescapeString(flowTagRE.ReplaceAllString(body, ""))
		return out
	}
	if want := scriptCSP(m[1]); csp != want {
		t.Fatalf("CSP %q does not match the script (want %q)", csp, want)
	}
	args := flowDecodeRE.FindAllStringSubmatch(m[1], -1)
	if len(args) != 2 {
		t.Fatalf("popup script: %s", m[1])
	}
	msgJSON, _ := url.PathUnescape(args[0][1])
	out.origin, _ = url.PathUnescape(args[1][1])
	if err := json.Unmarshal([]byte(msgJSON), &out.msg); err != nil {
		t.Fatalf("popup message %s: %v", msgJSON, err)
	}
	return out
}

func (p popupPosts) err() (name, message string) {
	e, _ := p.msg["error"].(map[string]any)
	if e == nil {
		return "", ""
	}
	name, _ = e["name"].(string)
	message, _ = e["message"].(string)
	return name, message
}

// badRedirectURLs are refused wherever they appear.
var badRedirectURLs = []string{
	"https://evil.example/landing",
	"javascript:alert(1)",
	"data:text/html,x",
	"//evil.example/x",
	"/relative/path",
	"http://allowed.example.evil.com/x",
	"http://allowed.example@evil.example/x",
	"https://evil.example\\@allowed.example/",
	"ftp://allowed.example/x",
	"https://a.allowed.example.evil.com/",
	"http:evil.example",
}

func TestRedirectURLRefusedAtStart(t *testing.T) {
	h := newFlowHarness(t, resolveAlice)
	for _, bad := range badRedirectURLs {
		b := h.browser()
		resp, body := b.do("GET", h.base+"/api/auth/vcfsso/start?"+flowQuery("redirect", flowApp, bad), nil)
		status, name, _ := envelope(t, resp, body)
		if status != 400 || name != autherr.NameNotAllowed || resp.Header.Get("Location") != "" {
			t.Errorf("%q: %d %s Location %q, want 400 NotAllowedError and no Location", bad, status, name, resp.Header.Get("Location"))
		}
	}
}

// TestRedirectURLRefusedAtCallback: the state is the attacker's, so the
// callback checks redirectUrl again, before anything else: with no
// cookies (error path) and with a genuine login's cookies (success path).
func TestRedirectURLRefusedAtCallback(t *testing.T) {
	h := newFlowHarness(t, resolveAlice)
	for _, bad := range badRedirectURLs {
		t.Run(bad, func(t *testing.T) {
			// No cookies at all: a crafted link.
			st := oauthState{Nonce: "x", Env: "development", Origin: flowApp, RedirectURL: bad, Flow: "redirect"}
			resp, body := h.browser().do("GET", h.base+"/api/auth/vcfsso/handler/frame?state="+encodeState(st)+"&code=x", nil)
			status, name, _ := envelope(t, resp, body)
			if status != 400 || name != autherr.NameNotAllowed || resp.Header.Get("Location") != "" {
				t.Errorf("crafted state without cookies: %d %s Location %q", status, name, resp.Header.Get("Location"))
			}
			// A genuine login whose state is swapped on the way back, with
			// the env given in the query too.
			b := h.browser()
			u := withState(t, b.callback(flowQuery("redirect", flowApp, flowApp+"/catalog")), func(s *oauthState) { s.RedirectURL = bad })
			q := u.Query()
			q.Set("env", "development")
			u.RawQuery = q.Encode()
			resp, body = b.do("GET", u.String(), nil)
			status, name, _ = envelope(t, resp, body)
			if status != 400 || name != autherr.NameNotAllowed || resp.Header.Get("Location") != "" {
				t.Errorf("swapped state on a genuine login: %d %s Location %q", status, name, resp.Header.Get("Location"))
			}
		})
	}
}

func TestRedirectURLAllowed(t *testing.T) {
	h := newFlowHarness(t, resolveAlice)
	for _, good := range []string{flowApp + "/catalog?x=1", "http://allowed.example/landing", "https://team.allowed.example/a/b?c=d"} {
		b := h.browser()
		resp, body := b.login(flowQuery("redirect", flowApp, good))
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != good {
			t.Errorf("%s: %d Location %q %s", good, resp.StatusCode, resp.Header.Get("Location"), body)
		}
		// An error still goes back to the app, with ?error=.
		b = h.browser()
		u := b.callback(flowQuery("redirect", flowApp, good))
		q := u.Query()
		q.Del("code")
		u.RawQuery = q.Encode()
		resp, _ = b.do("GET", u.String(), nil)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Host != mustParse(t, good).Host || !strings.Contains(loc.Query().Get("error"), "no code") {
			t.Errorf("%s error path: %d Location %q", good, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPopupNeverPostsToDisallowedOrigin: the state's origin decides where
// the popup posts only once it is allowed; otherwise the page shows the
// error and posts nothing.
func TestPopupNeverPostsToDisallowedOrigin(t *testing.T) {
	h := newFlowHarness(t, resolveAlice)
	const evil = "https://evil.example"
	check := func(t *testing.T, what string, resp *http.Response, body string, wantText string) {
		t.Helper()
		p := readPopup(t, resp, body)
		if p.origin != "" || p.msg != nil || strings.Contains(body, "postMessage") {
			t.Errorf("%s: the page posts %v to %q", what, p.msg, p.origin)
		}
		if !strings.Contains(p.text, wantText) {
			t.Errorf("%s: page shows %q, want it to mention %q", what, p.text, wantText)
		}
	}
	t.Run("crafted state", func(t *testing.T) {
		st := oauthState{Nonce: "x", Env: "development", Origin: evil, Flow: "popup"}
		resp, body := h.browser().do("GET", h.base+"/api/auth/vcfsso/handler/frame?state="+encodeState(st), nil)
		check(t, "crafted state", resp, body, "Origin 'https://evil.example' is not allowed")
	})
	t.Run("swapped state on a genuine login", func(t *testing.T) {
		b := h.browser()
		u := withState(t, b.callback(flowQuery("popup", flowApp, "")), func(s *oauthState) { s.Origin = evil })
		resp, body := b.do("GET", u.String(), nil)
		check(t, "swapped state", resp, body, "Origin 'https://evil.example' is not allowed")
	})
	t.Run("origin with markup", func(t *testing.T) {
		st := oauthState{Nonce: "x", Env: "development", Origin: "https://<b>evil</b>.example", Flow: "popup"}
		resp, body := h.browser().do("GET", h.base+"/api/auth/vcfsso/handler/frame?state="+encodeState(st), nil)
		if strings.Contains(body, "<b>") {
			t.Errorf("markup from the state reached the page: %s", body)
		}
		p := readPopup(t, resp, body)
		if p.origin != "" {
			t.Errorf("posts to %q", p.origin)
		}
	})
	t.Run("duplicated state parameters", func(t *testing.T) {
		b := h.browser()
		u := b.callback(flowQuery("popup", flowApp, ""))
		evilState := withState(t, u, func(s *oauthState) { s.Origin = evil }).Query().Get("state")
		for _, order := range [][2]string{{u.Query().Get("state"), evilState}, {evilState, u.Query().Get("state")}} {
			v := *u
			q := v.Query()
			q["state"] = order[:]
			v.RawQuery = q.Encode()
			resp, body := b.do("GET", v.String(), nil)
			if resp.StatusCode == 200 {
				check(t, "two states", resp, body, "more than one state")
				continue
			}
			if _, name, msg := envelope(t, resp, body); name != autherr.NameNotAllowed || !strings.Contains(msg, "more than one state") {
				t.Errorf("two states: %s %q", name, msg)
			}
		}
		// In the query and in a form_post body.
		form := url.Values{"state": {evilState}, "code": {u.Query().Get("code")}}
		resp, body := b.do("POST", u.String(), form)
		if resp.StatusCode == 200 {
			check(t, "query and form state", resp, body, "more than one state")
		} else if _, name, msg := envelope(t, resp, body); name != autherr.NameNotAllowed || !strings.Contains(msg, "more than one state") {
			t.Errorf("query and form state: %s %q", name, msg)
		}
	})
	t.Run("duplicated origin in the state", func(t *testing.T) {
		b := h.browser()
		u := b.callback(flowQuery("popup", flowApp, ""))
		st, _ := decodeState(u.Query().Get("state"))
		for _, raw := range []string{
			encodeState(st) + fmt.Sprintf("%x", "&origin="+url.QueryEscape(evil)),
			fmt.Sprintf("%x", "origin="+url.QueryEscape(evil)+"&") + encodeState(st),
		} {
			v := *u
			q := v.Query()
			q.Set("state", raw)
			q.Set("env", "development")
			v.RawQuery = q.Encode()
			resp, body := b.do("GET", v.String(), nil)
			check(t, "two origins", resp, body, "duplicated field 'origin'")
		}
	})
	t.Run("allowed origins still get the answer", func(t *testing.T) {
		for _, origin := range []string{"", flowApp, "https://team.allowed.example"} {
			resp, body := h.browser().login(flowQuery("popup", origin, ""))
			p := readPopup(t, resp, body)
			want := origin
			if want == "" {
				want = flowApp
			}
			if p.origin != want || p.msg["response"] == nil {
				t.Errorf("origin %q: posts %v to %q", origin, p.msg, p.origin)
			}
		}
	})
}

// abiViolation is what the WASM host says when a module hands it a
// pointer outside its memory: detail for the operator, not the user.
const abiViolation = `module "team" broke the ABI: output_write: pointer 2147418112 + length 64 is outside the module's 65536-byte memory`

// TestInternalErrorsStayInTheLog: a resolver failing with host internals
// shows the user the error name, a short message and the request id; the
// log line of the same request has the detail.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	failing := resolverFunc(func(context.Context, resolvers.SignInInput) (*resolvers.SignInResult, error) {
		return nil, fmt.Errorf("resolver team: %w", untypedError(abiViolation))
	})
	h := newFlowHarness(t, failing)
	for _, flow := range []string{"popup", "redirect"} {
		b := h.browser()
		resp, body := b.login(flowQuery(flow, flowApp, flowApp+"/catalog"))
		id := resp.Header.Get(requestid.Header)
		var name, msg string
		if flow == "popup" {
			name, msg = readPopup(t, resp, body).err()
		} else {
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc == nil {
				t.Fatalf("redirect flow: %d %s", resp.StatusCode, body)
			}
			name, msg = "Error", loc.Query().Get("error")
		}
		if id == "" || name != "Error" || !strings.Contains(msg, "(request id "+id+")") || strings.Contains(msg, "ABI") || strings.Contains(msg, "2147418112") {
			t.Errorf("%s: user sees %s %q (request id %q)", flow, name, msg, id)
		}
		var line string
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "request_id="+id) && strings.Contains(l, "sign-in failed") {
				line = l
			}
		}
		if !strings.Contains(line, "2147418112") {
			t.Errorf("%s: no log line of request %s with the detail:\n%s", flow, id, h.logs.String())
		}
	}
}

// untypedError is an error without a name, as a Go library or the WASM
// host returns.
type untypedError string

func (e untypedError) Error() string { return string(e) }

// scriptCSP is the policy a popup page with this script must carry.
func scriptCSP(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
