package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestCertificate makes a self-signed certificate for 127.0.0.1 and
// writes it and its key as PEM files; the pool trusts it.
func writeTestCertificate(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHTTPSSignIn signs in over backend.https with a certificate from
// config files: the cookies are Secure and every answer carries HSTS.
func TestHTTPSSignIn(t *testing.T) {
	certFile, keyFile, pool := writeTestCertificate(t)
	h := newHarness(t, harnessOptions{
		https:       true,
		backendYAML: fmt.Sprintf(", https: {certificate: {cert: {$file: %s}, key: {$file: %s}}}", certFile, keyFile),
	})
	if !strings.HasPrefix(h.base, "https://") {
		t.Fatalf("base %s", h.base)
	}
	b := newBrowser(t)
	b.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	if resp.TLS == nil {
		t.Fatal("the popup page did not come over TLS")
	}
	msg := popupMessage(t, resp, body)
	if ref := userEntityRef(msg["response"]); ref != "user:default/alice" {
		t.Fatalf("signed in as %q: %v", ref, msg)
	}
	cookies := resp.Header.Values("Set-Cookie")
	if len(cookies) == 0 {
		t.Fatal("no cookies set by the callback")
	}
	for _, c := range cookies {
		// The app (localhost) is another host than the callback
		// (127.0.0.1) and the callback is https: SameSite=None, as Backstage
		// sets it for a cross-site app (server/cookies.go).
		if !strings.Contains(c, "; HttpOnly; Secure; SameSite=None") {
			t.Errorf("cookie not Secure over https: %s", c)
		}
	}
	// The popup page: every security header, its own script-hash CSP
	// (popupMessage checked it matches the script).
	assertEdgeHeaders(t, "popup", resp.Header, "script-src 'sha256-")
	// The Secure refresh cookie comes back over https.
	r, ref := b.refresh(h, "development")
	if r.StatusCode != 200 {
		t.Fatalf("refresh over https: %d %v", r.StatusCode, ref)
	}
	if u := userEntityRef(ref); u != "user:default/alice" {
		t.Fatalf("refreshed as %q: %v", u, ref)
	}
	assertEdgeHeaders(t, "refresh", r.Header, "default-src 'self';")
	// An error envelope too.
	r, _ = b.do("GET", h.base+"/api/auth/nope/start", nil, nil)
	if r.StatusCode != 404 {
		t.Fatalf("unknown provider: %d", r.StatusCode)
	}
	assertEdgeHeaders(t, "404", r.Header, "default-src 'self';")
	// Plain http on the TLS port is refused, not served.
	plain, err := http.Get("http://" + strings.TrimPrefix(h.base, "https://") + "/api/auth/.well-known/jwks.json")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http on the https port: %d", plain.StatusCode)
		}
	}
}

// assertEdgeHeaders checks the security headers of an https answer.
func assertEdgeHeaders(t *testing.T, what string, h http.Header, cspPrefix string) {
	t.Helper()
	if csp := h.Values("Content-Security-Policy"); len(csp) != 1 || !strings.HasPrefix(csp[0], cspPrefix) {
		t.Errorf("%s: CSP %q, want one starting %q", what, csp, cspPrefix)
	}
	for k, v := range map[string]string{
		"Referrer-Policy":                   "no-referrer",
		"Strict-Transport-Security":         "max-age=15552000; includeSubDomains",
		"X-Content-Type-Options":            "nosniff",
		"X-Dns-Prefetch-Control":            "off",
		"X-Permitted-Cross-Domain-Policies": "none",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if got := h.Get("X-Frame-Options"); !strings.EqualFold(got, "sameorigin") {
		t.Errorf("%s: X-Frame-Options = %q", what, got)
	}
}

// userEntityRef digs backstageIdentity.identity.userEntityRef out of a
// sign-in or refresh response ("" when absent).
func userEntityRef(resp any) string {
	m, _ := resp.(map[string]any)
	bi, _ := m["backstageIdentity"].(map[string]any)
	id, _ := bi["identity"].(map[string]any)
	s, _ := id["userEntityRef"].(string)
	return s
}

// TestCORSFromAppOrigin runs the frontend's cross-origin refresh against a
// real server: the preflight, then the credentialed request.
func TestCORSFromAppOrigin(t *testing.T) {
	h := newHarness(t, harnessOptions{backendYAML: ", cors: {origin: ['" + appOrigin + "', 'https://*.example.com'], methods: [GET, HEAD, PATCH, POST, PUT, DELETE], credentials: true}"})
	b := newBrowser(t)
	resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	popupMessage(t, resp, body)
	for _, origin := range []string{appOrigin, "https://portal.example.com"} {
		pre, _ := b.do("OPTIONS", h.base+"/api/auth/vcfsso/refresh?env=development", nil, map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-requested-with",
		})
		if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != origin ||
			pre.Header.Get("Access-Control-Allow-Credentials") != "true" || pre.Header.Get("Access-Control-Allow-Headers") != "x-requested-with" ||
			pre.Header.Get("Access-Control-Allow-Methods") != "GET,HEAD,PATCH,POST,PUT,DELETE" {
			t.Fatalf("preflight from %s: %d %v", origin, pre.StatusCode, pre.Header)
		}
		r, _ := b.do("GET", h.base+"/api/auth/vcfsso/refresh?env=development", nil, map[string]string{"Origin": origin, "X-Requested-With": "XMLHttpRequest"})
		if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != origin || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("refresh from %s: %d %v", origin, r.StatusCode, r.Header)
		}
	}
	pre, _ := b.do("OPTIONS", h.base+"/api/auth/vcfsso/refresh?env=development", nil, map[string]string{"Origin": "https://evil.test", "Access-Control-Request-Headers": "x-requested-with"})
	for k := range pre.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("disallowed origin got %s", k)
		}
	}
}

// TestSlowloris: a client dribbling its headers is cut off at
// readHeaderTimeout while others are served.
func TestSlowloris(t *testing.T) {
	h := newHarness(t, harnessOptions{backendYAML: ", limits: {readHeaderTimeout: 400ms}"})
	addr := strings.TrimPrefix(h.base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cut := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		req := "GET /api/auth/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)
		for i := 0; i < len(req); i++ {
			if _, err := conn.Write([]byte{req[i]}); err != nil {
				cut <- time.Since(start)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		cut <- -1
	}()
	// Meanwhile another client is served normally.
	for i := 0; i < 3; i++ {
		r, err := http.Get(h.base + "/api/auth/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("a normal client got %d during the slow one", r.StatusCode)
		}
	}
	// The server closes the slow connection: reading sees EOF (or a
	// reset) long before the request would have been complete.
	_ = conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	_, rerr := bufio.NewReader(conn).ReadByte()
	if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
		t.Fatal("the slow client was not cut off within 8s")
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Fatalf("cut off after %v", el)
	}
	if d := <-cut; d < 0 {
		t.Fatal("the slow client sent its whole request")
	}
}

// TestOversizedRequests: 413 and 431 in the error envelope, with the
// security headers; far larger headers get net/http's own 431.
func TestOversizedRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{backendYAML: ", limits: {maxBodyBytes: 2048, maxHeaderBytes: 8192}"})
	type envelope struct {
		Error    struct{ Name, Message string }
		Response struct{ StatusCode int }
	}
	check := func(r *http.Response, err error, status int, name string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var env envelope
		data, _ := io.ReadAll(r.Body)
		if r.StatusCode != status || json.Unmarshal(data, &env) != nil || env.Error.Name != name || env.Response.StatusCode != status {
			t.Fatalf("got %d %s, want %d %s", r.StatusCode, data, status, name)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%d without the security headers: %v", status, r.Header)
		}
	}
	r, err := http.Post(h.base+"/api/auth/vcfsso/handler/frame", "application/x-www-form-urlencoded", strings.NewReader("code="+strings.Repeat("x", 4096)))
	check(r, err, 413, "PayloadTooLargeError")
	req, _ := http.NewRequest("GET", h.base+"/api/auth/vcfsso/refresh?env=development", nil)
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	req.Header.Set("Cookie", "vcfsso-refresh-token="+strings.Repeat("x", 9000))
	r, err = http.DefaultClient.Do(req)
	check(r, err, 431, "RequestHeaderFieldsTooLargeError")
	req.Header.Set("Cookie", "vcfsso-refresh-token="+strings.Repeat("x", 20000))
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 431 {
		t.Fatalf("far oversized headers: %d", r.StatusCode)
	}
}

// smuggle writes raw on a fresh connection from dial and reads the
// answers: the first response, then whatever follows until the server
// closes the connection (rest is "" when it closed cleanly).
func smuggle(t *testing.T, dial func() (net.Conn, error), raw string) (first *http.Response, body []byte, rest string) {
	t.Helper()
	conn, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	first, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ = io.ReadAll(first.Body)
	first.Body.Close()
	more, err := io.ReadAll(br)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the connection was left open after %d %s", first.StatusCode, body)
	}
	return first, body, string(more)
}

// smugglingCases are request heads with ambiguous framing (RFC 9112 §6.1,
// §6.3): each carries a hidden second request in what the server would
// read as its body or after it.
func smugglingCases() map[string]string {
	hidden := "GET /api/auth/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"
	chunked := "0\r\n\r\n" + hidden
	head := "POST /api/auth/vcfsso/refresh?env=development HTTP/1.1\r\nHost: x\r\nX-Requested-With: XMLHttpRequest\r\n"
	return map[string]string{
		"CL then TE": head + fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", len(chunked)) + chunked,
		"TE then cl": head + fmt.Sprintf("Transfer-Encoding: Chunked\r\ncontent-length: %d\r\n\r\n", len(chunked)) + chunked,
		"TE, CL 0":   head + "CONTENT-LENGTH: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
		// HTTP/1.0 ignores Transfer-Encoding; RFC 9112 §6.1 makes its
		// framing faulty all the same.
		"HTTP/1.0 keep-alive": strings.Replace(head, "HTTP/1.1", "HTTP/1.0", 1) +
			"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + hidden,
	}
}

// checkSmugglingRefused: 400 in the error envelope, Connection: close, and
// no second answer.
func checkSmugglingRefused(t *testing.T, dial func() (net.Conn, error)) {
	t.Helper()
	for name, raw := range smugglingCases() {
		resp, body, rest := smuggle(t, dial, raw)
		var env struct {
			Error    struct{ Name, Message string }
			Response struct{ StatusCode int }
		}
		if resp.StatusCode != 400 || json.Unmarshal(body, &env) != nil || env.Error.Name != "BadRequestError" || env.Response.StatusCode != 400 {
			t.Errorf("%s: %d %s, want a 400 BadRequestError envelope", name, resp.StatusCode, body)
		}
		if !resp.Close {
			t.Errorf("%s: answered without Connection: close (%v)", name, resp.Header)
		}
		if rest != "" {
			t.Errorf("%s: the hidden request was answered too:\n%s", name, rest)
		}
	}
	// Transfer codings other than chunked alone are refused by net/http
	// itself (501), and the connection closed.
	for _, te := range []string{"gzip, chunked", "chunked\r\nTransfer-Encoding: chunked"} {
		resp, body, rest := smuggle(t, dial, "POST /api/auth/vcfsso/refresh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "+te+"\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 501 && resp.StatusCode != 400 || rest != "" {
			t.Errorf("Transfer-Encoding %q: %d %s, then %q", te, resp.StatusCode, body, rest)
		}
	}
	// Unambiguous requests keep the connection: a chunked request and a
	// pipelined one are both answered.
	resp, _, rest := smuggle(t, dial, "POST /api/auth/vcfsso/refresh?env=development HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"+
		"GET /api/auth/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 401 || !strings.HasPrefix(rest, "HTTP/1.1 200 ") {
		t.Errorf("a chunked request then a pipelined one: %d, then %q", resp.StatusCode, rest)
	}
}

// TestSmuggledRequest: a request with both Content-Length and
// Transfer-Encoding is refused and its connection closed, so the request
// hidden in it is never answered; over plain HTTP and over TLS.
func TestSmuggledRequest(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	addr := strings.TrimPrefix(h.base, "http://")
	checkSmugglingRefused(t, func() (net.Conn, error) { return net.Dial("tcp", addr) })
}

// TestSmuggledRequestTLS: the same over backend.https with HTTP/1.1, while
// HTTP/2 (which has no Transfer-Encoding) is served as before.
func TestSmuggledRequestTLS(t *testing.T) {
	certFile, keyFile, pool := writeTestCertificate(t)
	h := newHarness(t, harnessOptions{
		https:       true,
		backendYAML: fmt.Sprintf(", https: {certificate: {cert: {$file: %s}, key: {$file: %s}}}", certFile, keyFile),
	})
	addr := strings.TrimPrefix(h.base, "https://")
	checkSmugglingRefused(t, func() (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Get(h.base + "/api/auth/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("over h2: %s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
}
