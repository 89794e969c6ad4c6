package cimd

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// DefaultClientIDPatterns is Backstage's default CIMD client_id allowlist
// without the CLI's own id (auth.clientIdMetadataDocuments.
// allowedClientIdPatterns, spec §1.1). The CLI id, "<auth base
// URL>/.well-known/oauth-client/cli.json", depends on the deployment, so
// [ClientIDAllowlist] appends it. A new slice is returned on every call so
// no caller can change the defaults of another.
func DefaultClientIDPatterns() []string {
	return []string{
		"https://claude.ai/*",
		"https://vscode.dev/*",
		"https://chatgpt.com/oauth/codex/*/client.json",
	}
}

// DefaultRedirectURIPatterns is Backstage's default CIMD redirect-URI
// allowlist (auth.clientIdMetadataDocuments.allowedRedirectUriPatterns):
// the http loopback hosts, any port, any path. A new slice every call.
func DefaultRedirectURIPatterns() []string {
	return []string{
		"http://localhost:*/*",
		"http://localhost/*",
		"http://127.0.0.1:*/*",
		"http://127.0.0.1/*",
		"http://[::1]:*/*",
		"http://[::1]/*",
	}
}

// DefaultDCRRedirectURIPatterns is Backstage's default redirect-URI
// allowlist for dynamic client registration (auth.
// experimentalDynamicClientRegistration.allowedRedirectUriPatterns): Cursor
// plus the CIMD loopback defaults. A new slice every call.
func DefaultDCRRedirectURIPatterns() []string {
	return append([]string{"cursor://*", "https://www.cursor.com/*"}, DefaultRedirectURIPatterns()...)
}

// ClientIDAllowlist returns the effective client_id pattern list as
// Backstage builds it (spec §1.1): without configured patterns, the
// defaults followed by cliID; with them, the configured entries in order,
// de-duplicated, followed by cliID (the three third-party defaults are
// dropped, the CLI is always allowed). cliID is omitted when empty.
func ClientIDAllowlist(configured []string, cliID string) []string {
	base := configured
	if base == nil {
		base = DefaultClientIDPatterns()
	}
	out := make([]string, 0, len(base)+1)
	seen := map[string]bool{}
	for _, p := range append(append([]string(nil), base...), cliID) {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// Pattern is one compiled allowlist entry, matched per URL component as
// Backstage 0.30 does (spec §3.2). The zero value matches nothing; use
// [CompilePattern].
type Pattern struct {
	raw      string
	any      bool // the pattern "*": every URL, any scheme
	scheme   string
	host     string // glob, lower case, IPv6 in brackets
	port     string // "" for the default port
	anyPort  bool
	path     string // glob
	compiled bool
}

var schemePrefix = regexp.MustCompile(`(?i)^[a-z][a-z0-9+.\-]*:`)

// wildcardPort finds the first ":*" followed by "/" or the end, the
// wildcard port of a pattern that has an authority.
var wildcardPort = regexp.MustCompile(`:\*(/|$)`)

// specialScheme are the URL schemes WHATWG requires a host for.
var specialScheme = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true}

// CompilePattern compiles one allowlist pattern. "*" alone matches every
// URL; any other pattern must start with a scheme and parse as a URL, else
// the error names the pattern. A ":*" port (in a pattern with "://")
// matches any port; "*" in the host or path matches any run of characters,
// including "." and "/"; the pattern's query and fragment are ignored; an
// empty host or path (non-special schemes such as "cursor://*") matches
// any host or path.
func CompilePattern(p string) (Pattern, error) {
	if p == "*" {
		return Pattern{raw: p, any: true, compiled: true}, nil
	}
	if !schemePrefix.MatchString(p) {
		return Pattern{}, fmt.Errorf("invalid URL pattern %q, an explicit protocol is required", p)
	}
	subst := p
	anyPort := false
	if strings.Contains(p, "://") {
		if loc := wildcardPort.FindStringIndex(p); loc != nil {
			subst = p[:loc[0]] + ":1" + p[loc[0]+2:]
			anyPort = true
		}
	}
	u, err := url.Parse(subst)
	if err != nil || !validPort(u.Port()) || strings.ContainsAny(subst, " \t\r\n\\") {
		return Pattern{}, fmt.Errorf("invalid URL pattern %q", p)
	}
	if specialScheme[strings.ToLower(u.Scheme)] && u.Hostname() == "" {
		// WHATWG gives http(s) and ws(s) a host; an empty one here would
		// otherwise read as "any host" and widen the allowlist.
		return Pattern{}, fmt.Errorf("invalid URL pattern %q: the host is empty", p)
	}
	c := components(u)
	pat := Pattern{raw: p, scheme: c.scheme, host: c.host, port: c.port, anyPort: anyPort, path: c.path, compiled: true}
	if pat.host == "" {
		pat.host = "*"
	}
	if pat.path == "" {
		pat.path = "*"
	}
	return pat, nil
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// Match reports whether u matches the pattern: same scheme, host glob,
// port (unless wildcard; default ports equal no port) and path glob, all
// case-insensitively. u's query and fragment are ignored, as in Backstage.
func (p Pattern) Match(u *url.URL) bool {
	if !p.compiled || u == nil {
		return false
	}
	if p.any {
		return true
	}
	c := components(u)
	return c.scheme == p.scheme && glob(p.host, c.host) && (p.anyPort || c.port == p.port) && glob(p.path, c.path)
}

// Exact reports whether the pattern has no wildcard ("*" or "?"), the
// property Backstage uses to trust an allowlist entry (spec §3.2).
func (p Pattern) Exact() bool { return !strings.ContainsAny(p.raw, "*?") }

// validPort reports whether port is empty or a number a URL may carry.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

type urlParts struct{ scheme, host, port, path string }

var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

var specialSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true, "file": true}

// components normalises u the way a WHATWG parser would for the parts the
// matcher compares: lower-case scheme and host, IPv6 hosts in brackets,
// default port as "", "/" for an empty path of a special scheme, and the
// opaque part as the path of a URL without authority ("cursor:foo").
func components(u *url.URL) urlParts {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		// IPv6 in the canonical form a WHATWG parser serialises.
		if a, err := netip.ParseAddr(host); err == nil {
			host = a.String()
		}
		host = "[" + host + "]"
	}
	port := u.Port()
	if defaultPorts[scheme] == port {
		port = ""
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	}
	if path == "" && specialSchemes[scheme] {
		path = "/"
	}
	return urlParts{scheme: scheme, host: host, port: port, path: path}
}

// glob matches s against pattern as a whole string, case-insensitively,
// where "*" matches any run of characters (matcher@4's semantics for the
// patterns a URL parser can produce).
func glob(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// Allowlist is a compiled list of patterns; a URL is allowed when any
// pattern matches. The zero value allows nothing.
type Allowlist struct {
	patterns []Pattern
}

// CompileAllowlist compiles every pattern. Unlike Backstage, which
// compiles patterns per request and fails every request when one is bad, a
// bad pattern is an error here, naming it, so it can be reported at
// start-up.
func CompileAllowlist(patterns []string) (*Allowlist, error) {
	a := &Allowlist{patterns: make([]Pattern, 0, len(patterns))}
	for _, s := range patterns {
		p, err := CompilePattern(s)
		if err != nil {
			return nil, err
		}
		a.patterns = append(a.patterns, p)
	}
	return a, nil
}

// MatchString parses raw and returns the first pattern that matches it,
// and whether one did. An unparseable raw matches nothing.
func (a *Allowlist) MatchString(raw string) (Pattern, bool) {
	if a == nil {
		return Pattern{}, false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Pattern{}, false
	}
	for _, p := range a.patterns {
		if p.Match(u) {
			return p, true
		}
	}
	return Pattern{}, false
}

// Allows reports whether raw matches a pattern of the list.
func (a *Allowlist) Allows(raw string) bool {
	_, ok := a.MatchString(raw)
	return ok
}

// CheckRedirectURI validates a redirect URI against the allowlist as
// Backstage's validateRedirectUri does (spec §3.2), stricter: the URI must
// parse as an absolute URL, carry no credentials, no fragment (RFC 6749
// §3.1.2) and no dot segments, and match a pattern. The error names the
// URI by scheme, host and path only, so no query content is echoed.
func (a *Allowlist) CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || !validPort(u.Port()) {
		return fmt.Errorf("invalid redirect_uri: not a valid URL")
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.User != nil {
		return fmt.Errorf("invalid redirect_uri %s: must not contain credentials", shown)
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return fmt.Errorf("invalid redirect_uri %s: must not contain a fragment", shown)
	}
	if dotSegment.MatchString(u.EscapedPath()) {
		return fmt.Errorf("invalid redirect_uri %s: path must not contain dot segments", shown)
	}
	if !a.Allows(raw) {
		return fmt.Errorf("redirect_uri %s is not allowed by the configured patterns", shown)
	}
	return nil
}

// IsLoopbackHost reports whether u's host is one of the loopback hosts of
// RFC 8252 §7.3 as Backstage names them: localhost, 127.0.0.1 or [::1].
func IsLoopbackHost(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || h == "127.0.0.1" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6() && a == netip.IPv6Loopback()
}

// MatchRedirectURI reports whether requested is one of registered. For a
// loopback request (RFC 8252 §7.3) the port may differ, but scheme, host,
// path and query must equal a registered loopback URI's exactly (Backstage
// ignores the query, spec §6.11); localhost and 127.0.0.1 stay distinct.
// Otherwise the match is exact string membership, no normalisation.
func MatchRedirectURI(requested string, registered []string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	req, err := url.Parse(requested)
	if err != nil || req.Opaque != "" || !IsLoopbackHost(req) || req.Fragment != "" {
		return false
	}
	rq := components(req)
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Opaque != "" || !IsLoopbackHost(reg) || reg.Fragment != "" {
			continue
		}
		rg := components(reg)
		if rg.scheme == rq.scheme && rg.host == rq.host && rg.path == rq.path && reg.RawQuery == req.RawQuery &&
			reg.User == nil && req.User == nil {
			return true
		}
	}
	return false
}
