package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

// defaultCSP is Backstage's applyCspDirectives over helmet's defaults:
// script-src gains 'unsafe-eval' and form-action is dropped. The order is
// the one Backstage sends (spec captures).
var defaultCSP = []httpedge.CSPDirective{
	{Name: "default-src", Values: []string{"'self'"}},
	{Name: "base-uri", Values: []string{"'self'"}},
	{Name: "font-src", Values: []string{"'self'", "https:", "data:"}},
	{Name: "frame-ancestors", Values: []string{"'self'"}},
	{Name: "img-src", Values: []string{"'self'", "data:"}},
	{Name: "object-src", Values: []string{"'none'"}},
	{Name: "script-src", Values: []string{"'self'", "'unsafe-eval'"}},
	{Name: "script-src-attr", Values: []string{"'none'"}},
	{Name: "style-src", Values: []string{"'self'", "https:", "'unsafe-inline'"}},
	{Name: "upgrade-insecure-requests"},
}

// hstsValue is helmet's default: 180 days, subdomains included.
const hstsValue = "max-age=15552000; includeSubDomains"

// buildCSP applies overrides to the default policy as Backstage does: a
// replaced directive keeps its place, a new one goes last, a removed one
// disappears. default-src cannot be removed (helmet refuses that too).
func buildCSP(overrides []httpedge.CSPDirective) (string, error) {
	dirs := append([]httpedge.CSPDirective(nil), defaultCSP...)
	for _, o := range overrides {
		name := strings.ToLower(strings.TrimSpace(o.Name))
		if name == "" || strings.ContainsAny(name, " ;,") {
			return "", fmt.Errorf("%q is not a directive name", o.Name)
		}
		for _, v := range o.Values {
			if v == "" || strings.ContainsAny(v, ";,") {
				return "", fmt.Errorf("%s: %q is not a valid directive value", name, v)
			}
		}
		i := -1
		for j := range dirs {
			if dirs[j].Name == name {
				i = j
				break
			}
		}
		switch {
		case o.Remove && name == "default-src":
			return "", fmt.Errorf("default-src cannot be removed")
		case o.Remove && i >= 0:
			dirs = append(dirs[:i], dirs[i+1:]...)
		case o.Remove:
		case i >= 0:
			dirs[i] = httpedge.CSPDirective{Name: name, Values: o.Values}
		default:
			dirs = append(dirs, httpedge.CSPDirective{Name: name, Values: o.Values})
		}
	}
	parts := make([]string, len(dirs))
	for i, d := range dirs {
		parts[i] = strings.Join(append([]string{d.Name}, d.Values...), " ")
	}
	return strings.Join(parts, ";"), nil
}

// securityHeaders sets helmet's headers as Backstage configures it
// (Cross-Origin-* and Origin-Agent-Cluster off) before the handler runs, so
// that errors carry them too; the popup page then replaces the CSP with its
// script hash, exactly as auth-node does.
func (e *edge) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", e.csp)
		h.Set("Referrer-Policy", "no-referrer")
		// Helmet sends HSTS on plain http too, where browsers ignore it;
		// Gatehouse sends it only when the site is actually https.
		if e.hsts || r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-DNS-Prefetch-Control", "off")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("X-Permitted-Cross-Domain-Policies", "none")
		next.ServeHTTP(w, r)
	})
}
