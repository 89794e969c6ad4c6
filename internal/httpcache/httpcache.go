// Package httpcache serves fixed JSON documents (JWKS, discovery metadata)
// with a strong ETag and Cache-Control, answering a matching If-None-Match
// with 304 Not Modified (RFC 9110 §13.1.2, §15.4.5). It lives in internal/
// so that both server and server/oauth (which server imports) can use it.
package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Document is a pre-encoded JSON body with the validators its answers
// carry. Build it once per body (StrongETag hashes), never per request.
type Document struct {
	// Body is sent as is with Content-Type application/json; charset=utf-8.
	Body []byte
	// ETag is a strong entity tag of Body, e.g. from StrongETag.
	ETag string
	// CacheControl is the Cache-Control value, e.g. from PublicMaxAge;
	// "" sends none.
	CacheControl string

	// etagField, cacheControlField and contentLengthField are the header
	// values, made once by NewDocument so that Serve allocates nothing for
	// them per request. net/http only reads header values, so answers may
	// share them.
	etagField, cacheControlField, contentLengthField []string
}

// etagHashChars is how many base64url characters of SHA-256 the tag keeps:
// 132 bits, far beyond any chance collision between two versions.
const etagHashChars = 22

// StrongETag is a strong entity tag of body: the quoted first 22
// base64url characters of its SHA-256. Equal bodies get equal tags, so
// replicas serving the same bytes agree.
func StrongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:])[:etagHashChars] + `"`
}

// PublicMaxAge is "public, max-age=N" with N the whole seconds of d,
// rounded up (a positive d never becomes 0); d ≤ 0 gives max-age=0.
func PublicMaxAge(d time.Duration) string {
	secs := int64(0)
	if d > 0 {
		secs = int64((d + time.Second - 1) / time.Second)
	}
	return "public, max-age=" + strconv.FormatInt(secs, 10)
}

// NewDocument is body with its strong ETag and the given Cache-Control.
func NewDocument(body []byte, cacheControl string) Document {
	etag := StrongETag(body)
	return Document{Body: body, ETag: etag, CacheControl: cacheControl,
		etagField: []string{etag}, cacheControlField: []string{cacheControl},
		contentLengthField: []string{strconv.Itoa(len(body))}}
}

// Canonical header names, set directly to skip canonicalizing per request.
const (
	etagHeader          = "Etag"
	cacheControlHeader  = "Cache-Control"
	contentTypeHeader   = "Content-Type"
	contentLengthHeader = "Content-Length"
)

// jsonContentType is the Content-Type of every 200 answer, shared by all.
var jsonContentType = []string{"application/json; charset=utf-8"}

// field is the prepared header value when there is one, else a new one.
func field(prepared []string, v string) []string {
	if prepared != nil {
		return prepared
	}
	return []string{v}
}

// Serve writes d as a 200 answer, or as 304 Not Modified with no body when
// r is a GET or HEAD whose If-None-Match matches d.ETag. Both carry ETag
// and Cache-Control (RFC 9110 §15.4.5); the 200 also Content-Type and
// Content-Length, the 304 neither.
func Serve(w http.ResponseWriter, r *http.Request, d Document) error {
	h := w.Header()
	if d.ETag != "" {
		h[etagHeader] = field(d.etagField, d.ETag)
	}
	if d.CacheControl != "" {
		h[cacheControlHeader] = field(d.cacheControlField, d.CacheControl)
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && d.ETag != "" && NoneMatchFails(r.Header.Values("If-None-Match"), d.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h[contentTypeHeader] = jsonContentType
	// With its length known, net/http writes the body as is; without, a
	// body past its 2 KB buffer (a JWKS of a few keys) went out chunked.
	h[contentLengthHeader] = field(d.contentLengthField, strconv.Itoa(len(d.Body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(d.Body)
	return err
}

// NoneMatchFails reports whether the If-None-Match field lines match
// etag, i.e. the condition "none match" is false (RFC 9110 §13.1.2): the
// field is "*", or one of its comma-separated tags equals etag by the weak
// comparison (a W/ prefix on either side is ignored). Malformed members
// match nothing.
func NoneMatchFails(fields []string, etag string) bool {
	want := opaque(etag)
	for _, f := range fields {
		for member := range strings.SplitSeq(f, ",") {
			member = strings.TrimSpace(member)
			if member == "*" {
				return true
			}
			if tag := opaque(member); tag != "" && tag == want {
				return true
			}
		}
	}
	return false
}

// opaque is the quoted opaque-tag of an entity tag without its W/ prefix,
// or "" when t is not an entity tag.
func opaque(t string) string {
	t = strings.TrimPrefix(t, "W/")
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' || strings.ContainsRune(t[1:len(t)-1], '"') {
		return ""
	}
	return t
}
