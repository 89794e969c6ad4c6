package server

import (
	"fmt"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

// EdgeOptions is how the auth routes meet the network, as Backstage's root
// HTTP router sets it up: helmet's security headers, backend.cors, and
// Gatehouse's own limits. The zero value sends the default security headers
// with no CORS and default limits.
type EdgeOptions struct {
	// CORS is backend.cors; nil sends no CORS headers at all.
	CORS *httpedge.CORS
	// CSP are backend.csp overrides of helmet's default policy.
	CSP []httpedge.CSPDirective
	// HSTS sends Strict-Transport-Security on every response (set it when
	// the external base URL is https, e.g. behind a TLS-terminating proxy).
	// Requests that arrive over TLS get it regardless.
	HSTS bool
	// Limits is backend.limits; the server enforces MaxBodyBytes,
	// MaxHeaderBytes and MaxCookieChunks (a zero field is its default),
	// the timeouts belong to the http.Server.
	Limits httpedge.Limits
}

// edge is the compiled EdgeOptions.
type edge struct {
	csp            string
	hsts           bool
	cors           *corsPolicy
	maxBodyBytes   int64
	maxHeaderBytes int
}

func newEdge(o EdgeOptions) (*edge, error) {
	csp, err := buildCSP(o.CSP)
	if err != nil {
		return nil, fmt.Errorf("backend.csp: %w", err)
	}
	l := o.Limits.WithDefaults()
	e := &edge{csp: csp, hsts: o.HSTS, maxBodyBytes: l.MaxBodyBytes, maxHeaderBytes: l.MaxHeaderBytes}
	if o.CORS != nil {
		if e.cors, err = newCORSPolicy(*o.CORS); err != nil {
			return nil, fmt.Errorf("backend.cors: %w", err)
		}
	}
	return e, nil
}

// wrap puts the edge around next in Backstage's order: security headers
// first (so every answer has them, errors included), then CORS (so a
// browser can read even a 413), then the limits.
func (e *edge) wrap(next http.Handler) http.Handler {
	h := e.limits(next)
	if e.cors != nil {
		h = e.cors.middleware(h)
	}
	return e.securityHeaders(h)
}
