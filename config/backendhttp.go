package config

import (
	"crypto/tls"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

// HTTPS is backend.https. Enabled is false when the key is absent.
type HTTPS struct {
	Enabled bool
	// SelfSigned is `https: true`: a certificate for backend.baseUrl's host
	// is generated in memory at start-up (development only, as in Backstage).
	SelfSigned bool
	// Cert and Key are PEM text from backend.https.certificate.{cert,key}
	// (usually given with $file).
	Cert, Key string
}

var (
	corsKeys   = []string{"origin", "methods", "allowedHeaders", "exposedHeaders", "credentials", "maxAge", "preflightContinue", "optionsSuccessStatus"}
	httpsKeys  = []string{"certificate"}
	certKeys   = []string{"cert", "key", "type"}
	limitsKeys = []string{"readHeaderTimeout", "readTimeout", "writeTimeout", "idleTimeout", "maxBodyBytes", "maxHeaderBytes", "maxCookieChunks"}
	// cspNameRe is what helmet accepts as a directive name (camelCase is
	// dashified first).
	cspNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// decodeEdge reads backend.cors, backend.csp, backend.https and
// backend.limits from the backend block be (nil when absent).
func (d *decoder) decodeEdge(be map[string]any, cfg *Config) {
	b := &cfg.Backend
	b.Limits = httpedge.DefaultLimits()
	if be == nil {
		return
	}
	b.CORS = d.cors(be["cors"])
	b.CSP = d.csp(be["csp"])
	b.HTTPS = d.https(be["https"])
	d.limits(be["limits"], &b.Limits)
}

func (d *decoder) cors(v any) *httpedge.CORS {
	m, ok := d.mapOf(v, "backend.cors")
	if !ok {
		return nil
	}
	d.unknownKeys(m, "backend.cors", corsKeys)
	c := &httpedge.CORS{MaxAge: httpedge.NoMaxAge, OptionsSuccessStatus: httpedge.DefaultOptionsSuccessStatus}
	c.Origins = d.strList(m["origin"], "backend.cors.origin")
	for i, o := range c.Origins {
		if strings.TrimSpace(o) == "" {
			d.add(indexPath("backend.cors.origin", i), "an origin pattern must not be empty")
		}
	}
	c.Methods = d.strList(m["methods"], "backend.cors.methods")
	c.AllowedHeaders = d.strList(m["allowedHeaders"], "backend.cors.allowedHeaders")
	c.ExposedHeaders = d.strList(m["exposedHeaders"], "backend.cors.exposedHeaders")
	c.Credentials, _ = d.boolean(m["credentials"], "backend.cors.credentials")
	c.PreflightContinue, _ = d.boolean(m["preflightContinue"], "backend.cors.preflightContinue")
	if n, ok := d.wholeNumber(m["maxAge"], "backend.cors.maxAge", 0, math.MaxInt32); ok {
		c.MaxAge = n
	}
	if n, ok := d.wholeNumber(m["optionsSuccessStatus"], "backend.cors.optionsSuccessStatus", 200, 299); ok {
		c.OptionsSuccessStatus = n
	}
	return c
}

// csp reads backend.csp: each key is a directive; false removes it, a
// string or list of strings replaces it (an empty list keeps the name
// alone, as upgrade-insecure-requests is written).
func (d *decoder) csp(v any) []httpedge.CSPDirective {
	m, ok := d.mapOf(v, "backend.csp")
	if !ok {
		return nil
	}
	var out []httpedge.CSPDirective
	for _, k := range sortedKeys(m) {
		p := joinPath("backend.csp", k)
		name := dashify(k)
		if !cspNameRe.MatchString(name) {
			d.add(p, "not a Content-Security-Policy directive name")
			continue
		}
		if b, isBool := m[k].(bool); isBool {
			if b {
				d.add(p, "expected false (to remove the directive) or a list of values, got true")
				continue
			}
			out = append(out, httpedge.CSPDirective{Name: name, Remove: true})
			continue
		}
		if m[k] == nil {
			d.add(p, "expected false (to remove the directive) or a list of values, got null")
			continue
		}
		vals := d.strList(m[k], p)
		bad := false
		for i, s := range vals {
			if strings.ContainsAny(s, ";,") || strings.TrimSpace(s) != s || s == "" {
				d.add(indexPath(p, i), fmt.Sprintf("%q is not a valid directive value (no ';', ',' or surrounding spaces)", s))
				bad = true
			}
		}
		if !bad {
			out = append(out, httpedge.CSPDirective{Name: name, Values: vals})
		}
	}
	for _, c := range out {
		if c.Name == "default-src" && c.Remove {
			d.add("backend.csp.default-src", "cannot be removed: a Content-Security-Policy needs a default-src (helmet refuses this too)")
		}
	}
	return out
}

// dashify is helmet's directive-name normalisation: scriptSrc → script-src.
func dashify(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('-')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *decoder) https(v any) HTTPS {
	switch x := v.(type) {
	case nil:
		return HTTPS{}
	case bool:
		return HTTPS{Enabled: x, SelfSigned: x}
	}
	m, ok := d.mapOf(v, "backend.https")
	if !ok {
		return HTTPS{}
	}
	d.unknownKeys(m, "backend.https", httpsKeys)
	cm, ok := d.mapOf(m["certificate"], "backend.https.certificate")
	if !ok {
		if m["certificate"] == nil {
			d.add("backend.https.certificate", "required: {cert, key} with PEM text (e.g. $file: cert.pem), or set backend.https to true for a self-signed development certificate")
		}
		return HTTPS{}
	}
	d.unknownKeys(cm, "backend.https.certificate", certKeys)
	h := HTTPS{Enabled: true}
	// Backstage spreads the block after {type: 'pem'}, so an explicit
	// type: pem is accepted too.
	if t, ok := d.str(cm["type"], "backend.https.certificate.type", false); ok && t != "pem" {
		d.add("backend.https.certificate.type", fmt.Sprintf("expected \"pem\" (or no type), got %q", t))
	}
	// The key's PEM is a secret: it is never shown in a message.
	h.Cert = d.required(cm, "backend.https.certificate", "cert", true)
	h.Key = d.required(cm, "backend.https.certificate", "key", true)
	if strings.TrimSpace(h.Cert) != "" && strings.TrimSpace(h.Key) != "" {
		// X509KeyPair's errors say what is wrong, never the key's bytes.
		if _, err := tls.X509KeyPair([]byte(h.Cert), []byte(h.Key)); err != nil {
			d.add("backend.https.certificate", "not a usable PEM certificate and private key: "+err.Error())
		}
	}
	return h
}

func (d *decoder) limits(v any, l *httpedge.Limits) {
	m, ok := d.mapOf(v, "backend.limits")
	if !ok {
		return
	}
	d.unknownKeys(m, "backend.limits", limitsKeys)
	for key, dst := range map[string]*time.Duration{
		"readHeaderTimeout": &l.ReadHeaderTimeout,
		"readTimeout":       &l.ReadTimeout,
		"writeTimeout":      &l.WriteTimeout,
		"idleTimeout":       &l.IdleTimeout,
	} {
		if m[key] == nil {
			continue
		}
		if t, ok := d.timeout(m[key], joinPath("backend.limits", key)); ok {
			*dst = t
		}
	}
	if n, ok := d.wholeNumber(m["maxBodyBytes"], "backend.limits.maxBodyBytes", 1, math.MaxInt32); ok {
		l.MaxBodyBytes = int64(n)
	}
	// Below 4 KiB even a plain sign-in's cookies would not fit.
	if n, ok := d.wholeNumber(m["maxHeaderBytes"], "backend.limits.maxHeaderBytes", 4096, 16<<20); ok {
		l.MaxHeaderBytes = n
	}
	if n, ok := d.wholeNumber(m["maxCookieChunks"], "backend.limits.maxCookieChunks", 1, 1000); ok {
		l.MaxCookieChunks = n
	}
}

// wholeNumber reads an integer in [lo, hi]; absent gives (0, false) silently.
func (d *decoder) wholeNumber(v any, path string, lo, hi int) (int, bool) {
	f, ok := d.number(v, path)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		d.add(path, fmt.Sprintf("expected a whole number between %d and %d, got %s", lo, hi, describe(v, false)))
		return 0, false
	}
	return int(f), true
}
