package server

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/providers"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 23, 22, 3, 43, 0, time.UTC) }

func TestCookieSerialisationMatchesExpress(t *testing.T) {
	jar, err := newCookieJar("oidc", "https://backstage.example.com/api/auth/oidc/handler/frame", 0, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	jar.setNonce(h, httptest.NewRequest("GET", "/", nil), "ab+c/d==", "https://backstage.example.com")
	got := h.Values("Set-Cookie")
	want := []string{
		"oidc-nonce=; Max-Age=0; Domain=backstage.example.com; Path=/api/auth/oidc; Expires=Mon, 23 Nov 2026 22:03:43 GMT; HttpOnly; Secure; SameSite=Lax",
		"oidc-nonce=ab%2Bc%2Fd%3D%3D; Max-Age=600; Path=/api/auth/oidc/handler; Expires=Mon, 23 Nov 2026 22:13:43 GMT; HttpOnly; Secure; SameSite=Lax",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCookieRules(t *testing.T) {
	// http callback: not Secure, always Lax, default Max-Age 1000 days.
	jar, _ := newCookieJar("vcfsso", "http://127.0.0.1:7007/api/auth/vcfsso/handler/frame", 0, fixedNow)
	h := http.Header{}
	jar.setRefreshToken(h, httptest.NewRequest("GET", "/", nil), "rt", "http://localhost:3000")
	if v := h.Values("Set-Cookie")[1]; !strings.Contains(v, "Max-Age=86400000; Path=/api/auth/vcfsso;") || strings.Contains(v, "Secure") || !strings.HasSuffix(v, "SameSite=Lax") {
		t.Fatalf("refresh cookie: %s", v)
	}
	// https with the app on another host: SameSite=None.
	jar, _ = newCookieJar("vcfsso", "https://auth.example.com/api/auth/vcfsso/handler/frame", 24*time.Hour, fixedNow)
	h = http.Header{}
	jar.setRefreshToken(h, httptest.NewRequest("GET", "/", nil), "rt", "https://backstage.example.com")
	if v := h.Values("Set-Cookie")[1]; !strings.Contains(v, "Max-Age=86400;") || !strings.HasSuffix(v, "Secure; SameSite=None") {
		t.Fatalf("cross-site cookie: %s", v)
	}
	// A custom callback path that does not end in <id>/handler/frame.
	jar, _ = newCookieJar("vcfsso", "https://auth.example.com/cb", 0, fixedNow)
	if jar.path != "/cb/vcfsso" {
		t.Fatalf("path %q", jar.path)
	}
}

func TestCookieChunking(t *testing.T) {
	jar, _ := newCookieJar("vcfsso", "http://localhost:7007/api/auth/vcfsso/handler/frame", 0, fixedNow)
	big := strings.Repeat("x", 9000)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "vcfsso-refresh-token", Value: "old"})
	h := http.Header{}
	jar.setRefreshToken(h, req, big, "")
	var names []string
	for _, c := range h.Values("Set-Cookie") {
		names = append(names, c[:strings.IndexByte(c, '=')])
	}
	if got := strings.Join(names, ","); got != "vcfsso-refresh-token,vcfsso-refresh-token,vcfsso-refresh-token-0,vcfsso-refresh-token-1,vcfsso-refresh-token-2" {
		t.Fatalf("chunk cookies: %s", got)
	}
	// Reading back concatenates the chunks.
	read := httptest.NewRequest("GET", "/", nil)
	for i, part := range []string{big[:4000], big[4000:8000], big[8000:]} {
		read.AddCookie(&http.Cookie{Name: "vcfsso-refresh-token-" + string(rune('0'+i)), Value: part})
	}
	if got := jar.get(read, "vcfsso-refresh-token"); got != big {
		t.Fatalf("read back %d chars", len(got))
	}
}

func TestPopupCSPHashMatchesScript(t *testing.T) {
	body, csp := popupPage(webMessage{Type: "authorization_response", Error: &serializedError{Name: "NotAllowedError", Message: "it's </script> & more"}}, "http://127.0.0.1:3000")
	m := regexp.MustCompile(`(?s)<script>(.*)</script>`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no script")
	}
	sum := sha256.Sum256(m[1])
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; csp != want {
		t.Fatalf("csp %q want %q", csp, want)
	}
	if strings.Count(string(body), "</script>") != 1 || strings.Contains(string(m[1]), "it's") {
		t.Fatal("message must be URI-encoded inside the script")
	}
	if !strings.Contains(string(body), "decodeURIComponent('http%3A%2F%2F127.0.0.1%3A3000')") {
		t.Fatal("origin not encoded as Backstage does")
	}
}

func TestOriginGlobs(t *testing.T) {
	f, err := newOriginFilter("http://localhost:3000/app", []string{"https://*.example.com", "http://localhost:{4000,5000}"})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"http://localhost:3000":          true,
		"https://a.example.com":          true,
		"https://A.EXAMPLE.com":          true,
		"https://a.b.example.com":        true, // * crosses dots, as minimatch does
		"https://example.com":            false,
		"https://evil.com/.example.com":  false, // * never crosses '/'
		"http://localhost:4000":          true,
		"http://localhost:6000":          false,
		"https://a.example.com.evil.net": false,
	} {
		if got := f.allowed(origin); got != want {
			t.Errorf("%s: got %v", origin, got)
		}
	}
}

func TestErrorEnvelope(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/auth/vcfsso/refresh?env=development", nil)
	status := writeError(rec, req, autherr.Wrap(autherr.NameAuthentication, "Refresh failed", autherr.Input("Missing session cookie")))
	want := `{"error":{"name":"AuthenticationError","message":"Refresh failed; caused by InputError: Missing session cookie","cause":{"name":"InputError","message":"Missing session cookie"}},"request":{"method":"GET","url":"/vcfsso/refresh?env=development"},"response":{"statusCode":401}}`
	if status != 401 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %s", status, rec.Body.String())
	}
}

func TestTransactionCookie(t *testing.T) {
	now := fixedNow()
	clock := func() time.Time { return now }
	s, err := newSealer("secret", clock)
	if err != nil {
		t.Fatal(err)
	}
	txn := providers.Transaction{Nonce: "n", CodeVerifier: "v"}
	sealed, err := s.seal("vcfsso", "development", "state-nonce", txn)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.open("vcfsso", "development", "state-nonce", sealed); err != nil || got != txn {
		t.Fatalf("open: %v %v", got, err)
	}
	for name, tc := range map[string]struct {
		provider, env, nonce, cookie, msg string
	}{
		"missing":      {"vcfsso", "development", "state-nonce", "", "missing the vcfsso-transaction cookie"},
		"tampered":     {"vcfsso", "development", "state-nonce", sealed[:len(sealed)-2] + "AA", "integrity check"},
		"garbage":      {"vcfsso", "development", "state-nonce", "!!", "malformed"},
		"other env":    {"vcfsso", "production", "state-nonce", sealed, "integrity check"},
		"other login":  {"vcfsso", "development", "other", sealed, "belongs to another sign-in"},
		"other secret": {"vcfsso", "development", "state-nonce", mustSeal(t, "other", txn), "integrity check"},
	} {
		_, err := s.open(tc.provider, tc.env, tc.nonce, tc.cookie)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || autherr.NameOf(err) != autherr.NameNotAllowed {
			t.Errorf("%s: %v", name, err)
		}
	}
	now = now.Add(11 * time.Minute)
	if _, err := s.open("vcfsso", "development", "state-nonce", sealed); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v", err)
	}
}

func mustSeal(t *testing.T, secret string, txn providers.Transaction) string {
	s, _ := newSealer(secret, fixedNow)
	v, err := s.seal("vcfsso", "development", "state-nonce", txn)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:3000/path?x": "http://localhost:3000",
		"HTTPS://Example.com:443/":     "https://example.com",
		"not a url":                    "",
	} {
		got, _ := parseOrigin(in)
		if got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
	_ = url.URL{}
}

// TestErrorEnvelopeHidesInternals: the envelope keeps Backstage's shape
// and "Refresh failed" framing, and typed messages, but an untyped cause
// (a driver's, the WASM host's) shows as a generic Error with the request
// id.
func TestErrorEnvelopeHidesInternals(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/auth/vcfsso/refresh?env=development", nil)
	req = req.WithContext(requestid.WithID(req.Context(), "req-42"))
	internal := errors.New(`dial tcp 10.0.0.7:5432: connect: connection refused (pq: password "hunter2")`)
	err := autherr.Wrap(autherr.NameAuthentication, "Refresh failed",
		autherr.Wrap(autherr.NameServiceUnavailable, "The database is not available", internal))
	status := writeError(rec, req, err)
	want := `{"error":{"name":"AuthenticationError","message":"Refresh failed; caused by ServiceUnavailableError: The database is not available; caused by Error: An internal error occurred (request id req-42)","cause":{"name":"ServiceUnavailableError","message":"The database is not available; caused by Error: An internal error occurred (request id req-42)","cause":{"name":"Error","message":"An internal error occurred (request id req-42)"}}},"request":{"method":"GET","url":"/vcfsso/refresh?env=development"},"response":{"statusCode":401}}`
	if status != 401 || rec.Body.String() != want {
		t.Fatalf("%d %s", status, rec.Body.String())
	}
	// Typed messages are the user's, wrapped in Go errors or not.
	for _, c := range []struct {
		err        error
		name, want string
	}{
		{autherr.Plain("Failed to sign-in, unable to resolve user identity."), "Error", "Failed to sign-in, unable to resolve user identity."},
		{fmt.Errorf("step 2: %w", autherr.NotAllowed("Sign-in user email is not from an allowed domain")), "NotAllowedError", "Sign-in user email is not from an allowed domain"},
		{autherr.Wrap(autherr.NameServiceUnavailable, "Authentication failed, the IdP answered HTTP 500", nil), "ServiceUnavailableError", "Authentication failed, the IdP answered HTTP 500"},
		{errors.New("module \"x\" trapped: wasm error: unreachable"), "Error", "An internal error occurred (request id r1)"},
		{fmt.Errorf("module %q broke the ABI: %w", "x", errors.New("pointer 2147418112")), "Error", "An internal error occurred (request id r1)"},
	} {
		if got := publicError(c.err, "r1"); got.Name != c.name || got.Message != c.want || got.Cause != nil {
			t.Errorf("%v: got %+v", c.err, got)
		}
	}
	if got := publicError(errors.New("x"), ""); got.Message != genericMessage {
		t.Errorf("without a request id: %q", got.Message)
	}
}

// TestErrorPageEscapes: the page shown when no origin is allowed has no
// script and shows the error as text.
func TestErrorPageEscapes(t *testing.T) {
	body, csp := errorPage(&serializedError{Name: "NotAllowedError", Message: `Origin 'https://<script>x</script>".example' is not allowed`})
	if strings.Contains(string(body), "<script") || !strings.Contains(string(body), "&lt;script&gt;") || csp != "default-src 'none'; script-src 'none'" {
		t.Fatalf("%s (CSP %q)", body, csp)
	}
}
