package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
	"github.com/gatehouse-auth/gatehouse/server"
)

// edgeOptions is backend.cors, backend.csp and backend.limits as the
// server's edge, passed through as config decoded them. HSTS is sent on
// every answer when backend.baseUrl is https (TLS may end at a proxy in
// front of Gatehouse).
func edgeOptions(cfg *config.Config) server.EdgeOptions {
	b := cfg.Backend
	o := server.EdgeOptions{CORS: b.CORS, CSP: b.CSP, Limits: b.Limits}
	if u, err := url.Parse(b.BaseURL); err == nil && u.Scheme == "https" {
		o.HSTS = true
	}
	return o
}

// ApplyLimits sets backend.limits' timeouts and header cap on srv. The
// header cap is also checked per request (with a 431 envelope); net/http
// itself cuts off anything more than 4 KiB over it. It also makes srv
// refuse, and close the connection of, a request whose length is
// ambiguous (both Content-Length and Transfer-Encoding), which the
// connections of WrapListener detect. A zero field of l is its default.
func ApplyLimits(srv *http.Server, l httpedge.Limits) {
	l = l.WithDefaults()
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.ReadTimeout = l.ReadTimeout
	srv.WriteTimeout = l.WriteTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	srv.ConnContext = server.FramingConnContext
	srv.Handler = server.RefuseAmbiguousFraming(srv.Handler)
}

// tlsConfig is backend.https as a server TLS configuration, or nil when
// https is off. With `https: true` a self-signed certificate for
// backend.baseUrl's host is made in memory, as Backstage does for
// development.
func tlsConfig(cfg *config.Config) (*tls.Config, error) {
	h := cfg.Backend.HTTPS
	if !h.Enabled {
		return nil, nil
	}
	var cert tls.Certificate
	var err error
	if h.SelfSigned {
		host := "localhost"
		if u, perr := url.Parse(cfg.Backend.BaseURL); perr == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		cert, err = selfSignedCertificate(host, time.Now())
	} else {
		cert, err = tls.X509KeyPair([]byte(h.Cert), []byte(h.Key))
		if err != nil {
			// The error of X509KeyPair names what is wrong with the PEM
			// (never the key's bytes).
			err = fmt.Errorf("backend.https.certificate: %w", err)
		}
	}
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// httpsWarnings are start-up warnings about backend.https that do not stop
// Gatehouse from serving.
func httpsWarnings(cfg *config.Config) []string {
	h := cfg.Backend.HTTPS
	if !h.Enabled {
		return nil
	}
	var ws []string
	if h.SelfSigned {
		ws = append(ws, "serving https with a self-signed certificate made at start-up (backend.https: true); for development only")
	}
	if u, err := url.Parse(cfg.Backend.BaseURL); err == nil && u.Scheme != "https" {
		// Cookies are Secure only when the callback URL is https (spec
		// §2.2), and the callback URL derives from backend.baseUrl.
		ws = append(ws, "backend.https is set but backend.baseUrl is not https: cookies will not be Secure and IdP callbacks will use http")
	}
	return ws
}

// WrapListener wraps ln in TLS when backend.https is set, and makes its
// HTTP/1.x connections watch for ambiguous framing (ApplyLimits refuses
// it). The TLS handshake is bounded as net/http bounds it: by the
// shortest of backend.limits' read, header and write timeouts.
func WrapListener(ln net.Listener, cfg *config.Config) (net.Listener, error) {
	tc, err := tlsConfig(cfg)
	if err != nil {
		return ln, err
	}
	var handshake time.Duration
	l := cfg.Backend.Limits
	for _, d := range []time.Duration{l.ReadTimeout, l.ReadHeaderTimeout, l.WriteTimeout} {
		if d > 0 && (handshake == 0 || d < handshake) {
			handshake = d
		}
	}
	return server.FramingListener(ln, tc, handshake), nil
}

// selfSignedCertificate makes a 30-day ECDSA certificate for host (a DNS
// name or an IP address), for development only.
func selfSignedCertificate(host string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"Gatehouse development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, errors.Join(errors.New("self-signed certificate"), err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
