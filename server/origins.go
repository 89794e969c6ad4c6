package server

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// originFilter is Backstage's createOriginFilter (auth-node): the app
// origin, or any auth.experimentalExtraAllowedOrigins glob, matched as
// minimatch does with {nocase: true, noglobstar: true}.
type originFilter struct {
	appOrigin string
	patterns  []*regexp.Regexp
}

func newOriginFilter(appBaseURL string, globs []string) (*originFilter, error) {
	u, err := url.Parse(appBaseURL)
	if err != nil {
		return nil, err
	}
	f := &originFilter{appOrigin: u.Scheme + "://" + u.Host}
	for _, g := range globs {
		re, err := globToRegexp(g)
		if err != nil {
			return nil, err
		}
		f.patterns = append(f.patterns, re)
	}
	return f, nil
}

func (f *originFilter) allowed(origin string) bool {
	if origin == f.appOrigin {
		return true
	}
	for _, re := range f.patterns {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// redirectTarget checks a redirect flow's redirectUrl: it must be an
// absolute http(s) URL whose origin is allowed, as for postMessage. It
// returns the URL as parsed, which is what Gatehouse redirects to, so that
// the browser goes where the check looked. Otherwise the error is a
// NotAllowedError answered 400: the request itself is malformed for this
// server, whoever sends it (issue 11 fixes the status; Backstage has no
// such check).
func (f *originFilter) redirectTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" || u.Opaque != "" {
		return nil, badRedirect(autherr.NotAllowed("Redirect URL '%s' is not allowed: it must be an absolute http(s) URL", truncate(raw, 200)))
	}
	origin, ok := parseOrigin(raw)
	if !ok || !f.allowed(origin) {
		return nil, badRedirect(autherr.NotAllowed("Redirect URL '%s' is not allowed: its origin is not app.baseUrl or in auth.experimentalExtraAllowedOrigins", truncate(raw, 200)))
	}
	return u, nil
}

func badRedirect(e *autherr.Error) *autherr.Error {
	e.HTTPStatus = http.StatusBadRequest
	return e
}

// parseOrigin is new URL(s).origin: scheme://host[:port], default port dropped.
func parseOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host, true
}

// globToRegexp translates a minimatch pattern: * and ** match any run of
// characters but '/', ? one such character, [...] a class, {a,b} a choice.
func globToRegexp(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?i)^")
	depth := 0
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch c {
		case '*':
			for i+1 < len(g) && g[i+1] == '*' {
				i++
			}
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := g[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case '{':
			depth++
			b.WriteString("(?:")
		case '}':
			if depth > 0 {
				depth--
				b.WriteString(")")
			} else {
				b.WriteString(`\}`)
			}
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	for ; depth > 0; depth-- {
		b.WriteString(")")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
