package gateway

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
)

// TestSelfSignedHTTPS: `backend.https: true` makes a certificate for
// backend.baseUrl's host; a bad PEM pair is a config problem.
func TestSelfSignedHTTPS(t *testing.T) {
	for host, check := range map[string]func(c *x509.Certificate) bool{
		"backstage.test": func(c *x509.Certificate) bool { return c.VerifyHostname("backstage.test") == nil },
		"127.0.0.1":      func(c *x509.Certificate) bool { return c.VerifyHostname("127.0.0.1") == nil },
	} {
		cfg, err := config.LoadBytes("tls.yaml", []byte("app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: 'https://"+host+":7007', https: true}\n"), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ws := httpsWarnings(cfg); len(ws) != 1 || !strings.Contains(ws[0], "self-signed") {
			t.Errorf("warnings %q", ws)
		}
		tc, err := tlsConfig(cfg)
		if err != nil || tc == nil || len(tc.Certificates) != 1 {
			t.Fatalf("%s: %v", host, err)
		}
		leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
		if err != nil || !check(leaf) || leaf.NotAfter.Before(time.Now().Add(24*time.Hour)) {
			t.Fatalf("%s: certificate %+v (%v)", host, leaf, err)
		}
	}
	cfg, err := config.LoadBytes("tls.yaml", []byte("app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: 'http://localhost:7007'}\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := tlsConfig(cfg); tc != nil || err != nil || httpsWarnings(cfg) != nil {
		t.Fatalf("no backend.https, yet TLS: %v %v", tc, err)
	}
	cfg.Backend.HTTPS.Enabled = true
	if ws := httpsWarnings(cfg); len(ws) != 1 || !strings.Contains(ws[0], "not be Secure") {
		t.Errorf("https over an http baseUrl: warnings %q", ws)
	}
}
