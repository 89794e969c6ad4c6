package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
)

const (
	// maxCookieChars is Backstage's chunking threshold (OAuthCookieManager).
	maxCookieChars = 4000
	nonceMaxAge    = 10 * time.Minute
	// defaultSessionDuration is Backstage's 1000-day refresh-cookie life.
	defaultSessionDuration = 1000 * 24 * time.Hour
)

// cookieJar writes and reads one provider's cookies exactly as Backstage's
// OAuthCookieManager (auth-node) with the default cookie configurer does:
// same names, path, domain, SameSite and chunking, so a Backstage backend
// and Gatehouse read each other's cookies.
type cookieJar struct {
	provider     string
	path         string // e.g. /api/auth/vcfsso
	callbackHost string
	secure       bool
	maxAge       time.Duration
	// maxChunks is backend.limits.maxCookieChunks.
	maxChunks int
	now       func() time.Time
}

func newCookieJar(provider, callbackURL string, sessionDuration time.Duration, now func() time.Time) (*cookieJar, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || u.Host == "" {
		return nil, err
	}
	path := strings.TrimSuffix(u.Path, "/")
	if suffix := provider + "/handler/frame"; strings.HasSuffix(path, suffix) {
		path = strings.TrimSuffix(path, "/handler/frame")
	} else {
		path = path + "/" + provider
	}
	if sessionDuration <= 0 {
		sessionDuration = defaultSessionDuration
	}
	return &cookieJar{
		provider:     provider,
		path:         path,
		callbackHost: u.Hostname(),
		secure:       u.Scheme == "https",
		maxAge:       sessionDuration,
		maxChunks:    httpedge.DefaultMaxCookieChunks,
		now:          now,
	}, nil
}

func (j *cookieJar) nonceName() string        { return j.provider + "-nonce" }
func (j *cookieJar) refreshName() string      { return j.provider + "-refresh-token" }
func (j *cookieJar) grantedScopeName() string { return j.provider + "-granted-scope" }

// transactionName is Gatehouse's own cookie: the sealed nonce and PKCE
// verifier that Backstage keeps in express-session instead.
func (j *cookieJar) transactionName() string { return j.provider + "-transaction" }
func (j *cookieJar) handlerPath() string     { return j.path + "/handler" }

// sameSite is None only when the app is on another host and we are on https.
func (j *cookieJar) sameSite(appOrigin string) string {
	if appOrigin != "" && j.secure {
		if u, err := url.Parse(appOrigin); err == nil && u.Hostname() != j.callbackHost {
			return "None"
		}
	}
	return "Lax"
}

type cookieAttrs struct {
	path     string
	domain   string
	maxAge   time.Duration
	sameSite string
}

// write emits one Set-Cookie header in Express's attribute order:
// name=value; Max-Age; Domain; Path; Expires; HttpOnly; Secure; SameSite.
func (j *cookieJar) write(h http.Header, name, value string, a cookieAttrs) {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 160)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(encodeURIComponent(value))
	b.WriteString("; Max-Age=")
	b.WriteString(strconv.FormatInt(int64(a.maxAge/time.Second), 10))
	if a.domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(a.domain)
	}
	b.WriteString("; Path=")
	b.WriteString(a.path)
	b.WriteString("; Expires=")
	var date [len(http.TimeFormat) + 8]byte
	b.Write(j.now().Add(a.maxAge).UTC().AppendFormat(date[:0], http.TimeFormat))
	b.WriteString("; HttpOnly")
	if j.secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=")
	b.WriteString(a.sameSite)
	h.Add("Set-Cookie", b.String())
}

// set writes a logical cookie: first the legacy Domain deletion Backstage
// emits (older versions set Domain, see backstage#28126), then the value,
// chunked above 4000 characters, deleting stale chunks the request carried.
func (j *cookieJar) set(h http.Header, r *http.Request, name, value, path string, maxAge time.Duration, appOrigin string) {
	ss := j.sameSite(appOrigin)
	j.write(h, name, "", cookieAttrs{path: j.path, domain: j.callbackHost, sameSite: ss})
	if len(value) <= maxCookieChars {
		j.write(h, name, value, cookieAttrs{path: path, maxAge: maxAge, sameSite: ss})
		for i := 0; i < j.maxChunks; i++ {
			if _, err := r.Cookie(name + "-" + strconv.Itoa(i)); err != nil {
				break
			}
			j.write(h, name+"-"+strconv.Itoa(i), "", cookieAttrs{path: path, sameSite: ss})
		}
		return
	}
	if _, err := r.Cookie(name); err == nil {
		j.write(h, name, "", cookieAttrs{path: path, sameSite: ss})
	}
	n := 0
	for ; len(value) > 0; n++ {
		k := min(maxCookieChars, len(value))
		j.write(h, name+"-"+strconv.Itoa(n), value[:k], cookieAttrs{path: path, maxAge: maxAge, sameSite: ss})
		value = value[k:]
	}
	for i := n; i < j.maxChunks; i++ {
		if _, err := r.Cookie(name + "-" + strconv.Itoa(i)); err != nil {
			break
		}
		j.write(h, name+"-"+strconv.Itoa(i), "", cookieAttrs{path: path, sameSite: ss})
	}
}

// remove deletes a logical cookie and any chunks of it the request carried.
func (j *cookieJar) remove(h http.Header, r *http.Request, name, path, appOrigin string) {
	ss := j.sameSite(appOrigin)
	j.write(h, name, "", cookieAttrs{path: path, sameSite: ss})
	for i := 0; i < j.maxChunks; i++ {
		if _, err := r.Cookie(name + "-" + strconv.Itoa(i)); err != nil {
			break
		}
		j.write(h, name+"-"+strconv.Itoa(i), "", cookieAttrs{path: path, sameSite: ss})
	}
}

// get reads a logical cookie: <name>-0..n when chunked, else <name>. Values
// are URI-decoded as cookie-parser does.
func (j *cookieJar) get(r *http.Request, name string) string {
	if c, err := r.Cookie(name + "-0"); err == nil {
		var b strings.Builder
		b.WriteString(decodeURIComponent(c.Value))
		for i := 1; i < j.maxChunks; i++ {
			c, err := r.Cookie(name + "-" + strconv.Itoa(i))
			if err != nil {
				break
			}
			b.WriteString(decodeURIComponent(c.Value))
		}
		return b.String()
	}
	if c, err := r.Cookie(name); err == nil {
		return decodeURIComponent(c.Value)
	}
	return ""
}

func (j *cookieJar) setNonce(h http.Header, r *http.Request, nonce, appOrigin string) {
	j.set(h, r, j.nonceName(), nonce, j.handlerPath(), nonceMaxAge, appOrigin)
}

func (j *cookieJar) setTransaction(h http.Header, r *http.Request, sealed, appOrigin string) {
	ss := j.sameSite(appOrigin)
	j.write(h, j.transactionName(), sealed, cookieAttrs{path: j.handlerPath(), maxAge: transactionMaxAge, sameSite: ss})
}

func (j *cookieJar) clearTransaction(h http.Header, appOrigin string) {
	j.write(h, j.transactionName(), "", cookieAttrs{path: j.handlerPath(), sameSite: j.sameSite(appOrigin)})
}

func (j *cookieJar) setRefreshToken(h http.Header, r *http.Request, token, appOrigin string) {
	j.set(h, r, j.refreshName(), token, j.path, j.maxAge, appOrigin)
}

func (j *cookieJar) setGrantedScope(h http.Header, r *http.Request, scope, appOrigin string) {
	j.set(h, r, j.grantedScopeName(), scope, j.path, j.maxAge, appOrigin)
}

// encodeURIComponent is JavaScript's encodeURIComponent.
func encodeURIComponent(s string) string {
	const hexdig = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if !uriUnreserved(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 3 / 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

func uriUnreserved(c byte) bool { return uriUnreservedSet[c] }

// uriUnreservedSet holds the bytes encodeURIComponent leaves as they are:
// a table, because sealed cookie values (an ID token, a session) run to
// kilobytes and are checked byte by byte on every refresh.
var uriUnreservedSet = func() (t [256]bool) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			t[c] = true
		}
		switch c {
		case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
			t[c] = true
		}
	}
	return t
}()

// decodeURIComponent decodes like cookie-parser: a value that fails to
// decode is kept as it is.
func decodeURIComponent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
