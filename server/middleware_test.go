package server

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

// backstageCSP is the default policy exactly as Backstage sends it (spec
// captures).
const backstageCSP = "default-src 'self';base-uri 'self';font-src 'self' https: data:;frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self' 'unsafe-eval';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"

func newEdgeServer(t *testing.T, e EdgeOptions) http.Handler {
	t.Helper()
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:   "http://127.0.0.1:7007/api/auth",
		Keys:     identity.NewMemoryKeyStore(),
		UserInfo: identity.NewMemoryUserInfoStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		AppBaseURL:  "http://127.0.0.1:3000",
		AuthBaseURL: "http://127.0.0.1:7007/api/auth",
		Tokens:      tokens,
		Edge:        e,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestBuildCSP(t *testing.T) {
	got, err := buildCSP(nil)
	if err != nil || got != backstageCSP {
		t.Fatalf("default CSP:\n%s\nwant\n%s (%v)", got, backstageCSP, err)
	}
	// Backstage's documented example: a list replaces a directive in place,
	// false removes one, a new one goes last.
	got, err = buildCSP([]httpedge.CSPDirective{
		{Name: "connect-src", Values: []string{"'self'", "http:", "https:"}},
		{Name: "upgrade-insecure-requests", Remove: true},
		{Name: "img-src", Values: []string{"'self'", "data:", "https://avatars.example.com"}},
	})
	want := "default-src 'self';base-uri 'self';font-src 'self' https: data:;frame-ancestors 'self';img-src 'self' data: https://avatars.example.com;object-src 'none';script-src 'self' 'unsafe-eval';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';connect-src 'self' http: https:"
	if err != nil || got != want {
		t.Fatalf("overridden CSP:\n%s\nwant\n%s (%v)", got, want, err)
	}
	if _, err := buildCSP([]httpedge.CSPDirective{{Name: "default-src", Remove: true}}); err == nil || !strings.Contains(err.Error(), "default-src") {
		t.Fatalf("removing default-src: %v", err)
	}
	if _, err := buildCSP([]httpedge.CSPDirective{{Name: "img-src", Values: []string{"a;b"}}}); err == nil || !strings.Contains(err.Error(), "img-src") {
		t.Fatalf("bad value: %v", err)
	}
}

// assertSecurityHeaders checks every helmet header Backstage sends.
func assertSecurityHeaders(t *testing.T, what string, h http.Header, csp string, hsts bool) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy":           csp,
		"Referrer-Policy":                   "no-referrer",
		"X-Content-Type-Options":            "nosniff",
		"X-Dns-Prefetch-Control":            "off",
		"X-Permitted-Cross-Domain-Policies": "none",
	}
	if hsts {
		want["Strict-Transport-Security"] = "max-age=15552000; includeSubDomains"
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if got := h.Get("X-Frame-Options"); !strings.EqualFold(got, "SAMEORIGIN") {
		t.Errorf("%s: X-Frame-Options = %q", what, got)
	}
	if !hsts && h.Get("Strict-Transport-Security") != "" {
		t.Errorf("%s: HSTS sent over plain http", what)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	h := newEdgeServer(t, EdgeOptions{})
	// A JSON route.
	w := serveReq(h, httptest.NewRequest("GET", "/api/auth/.well-known/openid-configuration", nil))
	if w.Code != 200 {
		t.Fatalf("discovery: %d", w.Code)
	}
	assertSecurityHeaders(t, "JSON route", w.Header(), backstageCSP, false)
	// An error envelope.
	w = serveReq(h, httptest.NewRequest("GET", "/api/auth/nope/start", nil))
	if w.Code != 404 {
		t.Fatalf("unknown provider: %d", w.Code)
	}
	assertSecurityHeaders(t, "404 envelope", w.Header(), backstageCSP, false)
	// Over TLS, HSTS too.
	r := httptest.NewRequest("GET", "/api/auth/.well-known/jwks.json", nil)
	r.TLS = &tls.ConnectionState{}
	assertSecurityHeaders(t, "https", serveReq(h, r).Header(), backstageCSP, true)
	// HSTS always when the external URL is https (TLS ended at a proxy).
	h = newEdgeServer(t, EdgeOptions{HSTS: true})
	assertSecurityHeaders(t, "behind a proxy", serveReq(h, httptest.NewRequest("GET", "/api/auth/x", nil)).Header(), backstageCSP, true)
}

func TestPopupKeepsItsOwnCSP(t *testing.T) {
	e, err := newEdge(EdgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var popupCSP string
	h := e.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, popupCSP = popupPage(webMessage{Type: "authorization_response"}, "http://127.0.0.1:3000")
		writePopup(w, webMessage{Type: "authorization_response"}, "http://127.0.0.1:3000")
	}))
	w := serveReq(h, httptest.NewRequest("GET", "/api/auth/vcfsso/handler/frame", nil))
	// As auth-node does, the page's script-hash policy replaces helmet's
	// (helmet's script-src 'self' would block the inline script).
	if !strings.HasPrefix(popupCSP, "script-src 'sha256-") {
		t.Fatalf("popup CSP %q", popupCSP)
	}
	assertSecurityHeaders(t, "popup", w.Header(), popupCSP, false)
}

func corsReq(method, origin string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, "/api/auth/vcfsso/refresh?env=development", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func TestCORS(t *testing.T) {
	h := newEdgeServer(t, EdgeOptions{CORS: &httpedge.CORS{
		Origins:     []string{"http://127.0.0.1:3000", "https://*.example.com"},
		Methods:     []string{"GET", "HEAD", "PATCH", "POST", "PUT", "DELETE"},
		Credentials: true,
		MaxAge:      -1,
	}})
	// The preflight of a refresh from the app (spec captures §15).
	for _, origin := range []string{"http://127.0.0.1:3000", "https://backstage.example.com", "HTTPS://Dev.Example.com"} {
		w := serveReq(h, corsReq("OPTIONS", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-requested-with"))
		if w.Code != 204 {
			t.Fatalf("%s preflight: %d", origin, w.Code)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET,HEAD,PATCH,POST,PUT,DELETE",
			"Access-Control-Allow-Headers":     "x-requested-with",
		}
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s preflight: %s = %q, want %q", origin, k, got, v)
			}
		}
		if w.Header().Get("Access-Control-Max-Age") != "" {
			t.Errorf("max age sent without maxAge")
		}
		assertSecurityHeaders(t, "preflight", w.Header(), backstageCSP, false)
		// The actual request: CORS headers on the error envelope too.
		w = serveReq(h, corsReq("GET", origin, "X-Requested-With", "XMLHttpRequest"))
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != origin || w.Header().Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s actual: allow-origin %q, credentials %q", origin, got, w.Header().Get("Access-Control-Allow-Credentials"))
		}
		if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
			t.Errorf("%s actual: no Vary: Origin", origin)
		}
	}
	// Disallowed origins (a glob matches no '/' and no other host), and no
	// Origin at all: no CORS header whatsoever.
	for _, origin := range []string{"http://evil.test", "https://example.com", "https://a.example.com.evil.test", "http://127.0.0.1:3001", ""} {
		for _, m := range []string{"OPTIONS", "GET", "POST"} {
			w := serveReq(h, corsReq(m, origin, "Access-Control-Request-Headers", "x-requested-with"))
			for k := range w.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s %q: %s sent", m, origin, k)
				}
			}
		}
	}
}

func TestCORSOptions(t *testing.T) {
	// No origin: "*", and never with credentials.
	h := newEdgeServer(t, EdgeOptions{CORS: &httpedge.CORS{Credentials: true, MaxAge: 600, ExposedHeaders: []string{"X-Request-Id"}, AllowedHeaders: []string{"Content-Type"}}})
	w := serveReq(h, corsReq("OPTIONS", "http://anything.test", "Access-Control-Request-Headers", "x-requested-with"))
	hd := w.Header()
	if hd.Get("Access-Control-Allow-Origin") != "*" || hd.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("wildcard: %v", hd)
	}
	if hd.Get("Access-Control-Max-Age") != "600" || hd.Get("Access-Control-Allow-Headers") != "Content-Type,X-Requested-With" || hd.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE" {
		t.Fatalf("options: %v", hd)
	}
	w = serveReq(h, corsReq("GET", "http://anything.test"))
	if w.Header().Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Fatalf("exposed headers: %v", w.Header())
	}
	// No backend.cors: no CORS headers, even for the app's origin.
	h = newEdgeServer(t, EdgeOptions{})
	for _, m := range []string{"OPTIONS", "GET"} {
		w := serveReq(h, corsReq(m, "http://127.0.0.1:3000", "Access-Control-Request-Headers", "x-requested-with"))
		for k := range w.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("no cors config, %s: %s sent", m, k)
			}
		}
	}
}

func TestBodyAndHeaderLimits(t *testing.T) {
	h := newEdgeServer(t, EdgeOptions{Limits: httpedge.Limits{MaxBodyBytes: 1000, MaxHeaderBytes: 8 << 10}})
	envelope := func(w *httptest.ResponseRecorder, status int, name, msgPart string) {
		t.Helper()
		var env struct {
			Error    struct{ Name, Message string }
			Response struct {
				StatusCode int
			}
		}
		if w.Code != status || json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Name != name || !strings.Contains(env.Error.Message, msgPart) || env.Response.StatusCode != status {
			t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, status, name)
		}
		assertSecurityHeaders(t, name, w.Header(), backstageCSP, false)
	}
	// A declared body over the cap.
	r := httptest.NewRequest("POST", "/api/auth/vcfsso/handler/frame", strings.NewReader(strings.Repeat("a", 1001)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	envelope(serveReq(h, r), 413, "PayloadTooLargeError", "backend.limits.maxBodyBytes (1000 bytes)")
	// A chunked one (no Content-Length).
	r = httptest.NewRequest("POST", "/api/auth/vcfsso/handler/frame", strings.NewReader(strings.Repeat("a", 5000)))
	r.ContentLength = -1
	envelope(serveReq(h, r), 413, "PayloadTooLargeError", "maxBodyBytes")
	// A body under the cap reaches the handler intact, declared or chunked.
	e, _ := newEdge(EdgeOptions{Limits: httpedge.Limits{MaxBodyBytes: 1000}})
	echoForm := e.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.PostFormValue("state")))
	}))
	for _, n := range []int64{8, -1} {
		r = httptest.NewRequest("POST", "/api/auth/vcfsso/handler/frame", strings.NewReader("state=zz"))
		r.ContentLength = n
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if w := serveReq(echoForm, r); w.Code != 200 || w.Body.String() != "zz" {
			t.Fatalf("small body: %d %s", w.Code, w.Body)
		}
	}
	// Oversized headers.
	r = httptest.NewRequest("GET", "/api/auth/vcfsso/refresh", nil)
	r.Header.Set("Cookie", "vcfsso-refresh-token="+strings.Repeat("x", 9000))
	envelope(serveReq(h, r), 431, "RequestHeaderFieldsTooLargeError", "backend.limits.maxHeaderBytes (8192 bytes)")
}

func TestCookieChunkCap(t *testing.T) {
	jar, _ := newCookieJar("vcfsso", "http://localhost:7007/api/auth/vcfsso/handler/frame", 0, fixedNow)
	jar.maxChunks = 2
	r := httptest.NewRequest("GET", "/", nil)
	for i, part := range []string{"aa", "bb", "cc"} {
		r.AddCookie(&http.Cookie{Name: "vcfsso-refresh-token-" + string(rune('0'+i)), Value: part})
	}
	// Only backend.limits.maxCookieChunks chunks are read back.
	if got := jar.get(r, "vcfsso-refresh-token"); got != "aabb" {
		t.Fatalf("read %q past the cap", got)
	}
}

// BenchmarkEdge is what the edge adds to every request: the security
// headers, a CORS glob match, and the limits (with a small form body read
// up front for the POST case). The handler itself does nothing.
func BenchmarkEdge(b *testing.B) {
	cors := &httpedge.CORS{Origins: []string{"http://localhost:3000", "https://*.example.com"}, Credentials: true, MaxAge: -1}
	for _, tc := range []struct {
		name   string
		opts   EdgeOptions
		method string
		body   string
	}{
		// Baseline: the request and recorder alone, without the edge.
		{"Baseline", EdgeOptions{Limits: httpedge.Limits{MaxBodyBytes: -1}}, "GET", ""},
		{"HeadersOnly", EdgeOptions{}, "GET", ""},
		{"CORSGlobGET", EdgeOptions{CORS: cors}, "GET", ""},
		{"CORSPreflight", EdgeOptions{CORS: cors}, "OPTIONS", ""},
		{"CORSFormPOST", EdgeOptions{CORS: cors}, "POST", "code=" + strings.Repeat("c", 64) + "&state=" + strings.Repeat("s", 256)},
	} {
		e, err := newEdge(tc.opts)
		if err != nil {
			b.Fatal(err)
		}
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		if tc.opts.Limits.MaxBodyBytes >= 0 {
			h = e.wrap(h)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(tc.method, "/api/auth/vcfsso/refresh?env=development", strings.NewReader(tc.body))
				r.Header.Set("Origin", "https://app.example.com")
				r.Header.Set("Access-Control-Request-Headers", "x-requested-with")
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
