package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

func loadEdge(t *testing.T, backend string) (*Config, error) {
	t.Helper()
	y := "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: http://localhost:7007\n" + backend
	return LoadBytes("edge.yaml", []byte(y), Options{LookupEnv: func(string) (string, bool) { return "", false }, Environ: func() []string { return nil }})
}

func TestEdgeDefaults(t *testing.T) {
	cfg, err := loadEdge(t, "")
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Backend
	if b.CORS != nil || b.CSP != nil || b.HTTPS.Enabled {
		t.Fatalf("no cors/csp/https expected: %+v", b)
	}
	want := httpedge.Limits{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		MaxBodyBytes: 100 << 10, MaxHeaderBytes: 64 << 10, MaxCookieChunks: 16,
	}
	if b.Limits != want {
		t.Fatalf("limits %+v, want %+v", b.Limits, want)
	}
}

func TestEdgeBackstageForms(t *testing.T) {
	// Backstage's create-app app-config, plus the documented csp form.
	cfg, err := loadEdge(t, `  cors:
    origin: http://localhost:3000
    methods: [GET, HEAD, PATCH, POST, PUT, DELETE]
    credentials: true
  csp:
    connect-src: ["'self'", 'http:', 'https:']
    upgrade-insecure-requests: false
    imgSrc: "'self'"
  https: true
  limits:
    readHeaderTimeout: 2s
    writeTimeout: {seconds: 5}
    idleTimeout: 1500
    maxBodyBytes: 2048
    maxHeaderBytes: 16384
    maxCookieChunks: 4
`)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Backend.CORS
	if c == nil || !reflect.DeepEqual(c.Origins, []string{"http://localhost:3000"}) || len(c.Methods) != 6 || !c.Credentials || c.MaxAge != -1 || c.OptionsSuccessStatus != 204 {
		t.Fatalf("cors %+v", c)
	}
	wantCSP := []httpedge.CSPDirective{
		{Name: "connect-src", Values: []string{"'self'", "http:", "https:"}},
		{Name: "img-src", Values: []string{"'self'"}},
		{Name: "upgrade-insecure-requests", Remove: true},
	}
	if !reflect.DeepEqual(cfg.Backend.CSP, wantCSP) {
		t.Fatalf("csp %+v", cfg.Backend.CSP)
	}
	if h := cfg.Backend.HTTPS; !h.Enabled || !h.SelfSigned {
		t.Fatalf("https %+v", h)
	}
	l := cfg.Backend.Limits
	if l.ReadHeaderTimeout != 2*time.Second || l.WriteTimeout != 5*time.Second || l.IdleTimeout != 1500*time.Millisecond ||
		l.ReadTimeout != httpedge.DefaultReadTimeout || l.MaxBodyBytes != 2048 || l.MaxHeaderBytes != 16384 || l.MaxCookieChunks != 4 {
		t.Fatalf("limits %+v", l)
	}
	// A list of origin globs.
	cfg, err = loadEdge(t, "  cors:\n    origin: ['https://*.example.com', http://localhost:3000]\n    maxAge: 600\n")
	if err != nil || len(cfg.Backend.CORS.Origins) != 2 || cfg.Backend.CORS.MaxAge != 600 {
		t.Fatalf("origin list: %+v %v", cfg.Backend.CORS, err)
	}
}

func TestEdgeProblems(t *testing.T) {
	_, err := loadEdge(t, `  cors:
    origin: [""]
    credential: true
    maxAge: -5
  csp:
    default-src: false
    script-src: true
    "bad name": ["'self'"]
    img-src: ["a;b"]
  https:
    certificate:
      cert: "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----"
      key: "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----"
  limits:
    readTimeout: soon
    maxBodyBytes: 1.5
    maxHeaderBytes: 100
    maxCookieChunk: 3
`)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	text := ps.Error()
	for _, want := range []string{
		"backend.cors.origin[0]: an origin pattern must not be empty",
		`backend.cors.credential: unknown key (did you mean "credentials"?)`,
		"backend.cors.maxAge: expected a whole number",
		"backend.csp.default-src: cannot be removed",
		"backend.csp.script-src: expected false",
		"backend.csp.bad name: not a Content-Security-Policy directive name",
		`backend.csp.img-src[0]: "a;b" is not a valid directive value`,
		"backend.https.certificate: not a usable PEM certificate and private key",
		"backend.limits.readTimeout:",
		"backend.limits.maxBodyBytes: expected a whole number between 1 and",
		"backend.limits.maxHeaderBytes: expected a whole number between 4096 and",
		`backend.limits.maxCookieChunk: unknown key (did you mean "maxCookieChunks"?)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "SECRETKEYBYTES") {
		t.Errorf("the private key leaked into a message:\n%s", text)
	}
	_, err = loadEdge(t, "  https: {certificate: {type: generated, cert: x, key: y}}\n")
	if err == nil || !strings.Contains(err.Error(), `backend.https.certificate.type: expected "pem"`) {
		t.Fatalf("certificate type: %v", err)
	}
	_, err = loadEdge(t, "  https: {}\n")
	if err == nil || !strings.Contains(err.Error(), "backend.https.certificate: required") {
		t.Fatalf("https without certificate: %v", err)
	}
}
