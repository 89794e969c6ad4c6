package cimd

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrNotCIMDURL is wrapped by every error of [ValidateClientIDURL], so a
// caller can tell "not a CIMD URL" (treat the client_id as a registered,
// DCR client id, as Backstage does) from other failures with errors.Is.
var ErrNotCIMDURL = errors.New("invalid client_id")

// URLOptions changes which client_id URLs [ValidateClientIDURL] accepts.
// The zero value is the production rule: https only.
type URLOptions struct {
	// AllowHTTPLoopback accepts http:// client ids whose hostname is exactly
	// "localhost" or "127.0.0.1", as Backstage does when
	// NODE_ENV=development. Never set it in production: it lets a local
	// process serve a client's metadata in clear text.
	AllowHTTPLoopback bool
}

// dotSegment finds a "/." or "/.." path segment in the raw string, also
// percent-encoded ("%2e"), which WHATWG parsers normalise as well. It is
// checked before parsing because parsing (WHATWG in Backstage) would
// normalise it away, and a client id must name exactly one document.
var dotSegment = regexp.MustCompile(`/(\.|%2[eE]){1,2}(/|$)`)

// ValidateClientIDURL reports whether clientID is a CIMD URL, with the
// checks and order of Backstage's CimdClient.validateCimdUrl (spec §3.1):
// no dot segments, a parseable absolute URL, https (or http on
// localhost/127.0.0.1 with AllowHTTPLoopback), a path other than "/", no
// fragment, no credentials, no query. A bare trailing "#" or "?" passes, as
// in Backstage. It returns the parsed URL, or an error wrapping
// [ErrNotCIMDURL] that names the rule broken.
func ValidateClientIDURL(clientID string, opts URLOptions) (*url.URL, error) {
	fail := func(what string) (*url.URL, error) {
		return nil, fmt.Errorf("%w: %s", ErrNotCIMDURL, what)
	}
	if dotSegment.MatchString(clientID) {
		return fail("path must not contain dot segments")
	}
	u, err := url.Parse(clientID)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" || !validPort(u.Port()) || strings.ContainsAny(clientID, " \t\r\n\\") {
		return fail("not a valid URL")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	httpsOK := scheme == "https"
	httpOK := scheme == "http" && opts.AllowHTTPLoopback && (host == "localhost" || host == "127.0.0.1")
	if !httpsOK && !httpOK {
		return fail("must use HTTPS (or HTTP for localhost in development)")
	}
	if p := u.EscapedPath(); p == "" || p == "/" {
		return fail("must have a path component")
	}
	if u.Fragment != "" {
		return fail("must not contain a fragment")
	}
	if u.User != nil {
		return fail("must not contain credentials")
	}
	if u.RawQuery != "" {
		return fail("must not contain a query string")
	}
	return u, nil
}

// IsCIMDURL reports whether clientID passes [ValidateClientIDURL]. The
// same predicate decides whether a revoking client is a CIMD client.
func IsCIMDURL(clientID string, opts URLOptions) bool {
	_, err := ValidateClientIDURL(clientID, opts)
	return err == nil
}
