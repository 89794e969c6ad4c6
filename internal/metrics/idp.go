package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// IdPTransport counts and times every request made through base (nil means
// http.DefaultTransport) as a call to provider's IdP. The endpoint label is
// a fixed name derived from the URL path, never the path itself.
func (m *Metrics) IdPTransport(provider string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if m == nil {
		return base
	}
	return &idpTransport{m: m, provider: provider, base: base}
}

// IdPClient returns a copy of c (nil means a zero client) whose transport
// is instrumented by IdPTransport; c's Timeout and redirect policy stay.
func (m *Metrics) IdPClient(provider string, c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.Transport = m.IdPTransport(provider, out.Transport)
	return &out
}

type idpTransport struct {
	m        *Metrics
	provider string
	base     http.RoundTripper
}

func (t *idpTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	endpoint := EndpointOf(r.URL.Path)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.idpRequests.WithLabelValues(t.provider, endpoint, status).Inc()
	t.m.idpDuration.WithLabelValues(t.provider, endpoint).Observe(time.Since(start).Seconds())
	return resp, err
}

// EndpointOf names the IdP endpoint a path belongs to: discovery, jwks,
// token, userinfo, revocation, or other. It recognises the usual OIDC
// paths and VMware Cloud Services' console paths.
func EndpointOf(path string) string {
	p := strings.ToLower(path)
	switch {
	case strings.Contains(p, "/.well-known/openid-configuration"):
		return "discovery"
	case strings.Contains(p, "jwk") || strings.Contains(p, "token-public-key") || strings.HasSuffix(p, "/keys") || strings.HasSuffix(p, "/certs"):
		return "jwks"
	case strings.Contains(p, "revoke") || strings.Contains(p, "revocation") || strings.Contains(p, "logout"):
		return "revocation"
	case strings.Contains(p, "userinfo"):
		return "userinfo"
	case strings.Contains(p, "token"):
		return "token"
	}
	return "other"
}
