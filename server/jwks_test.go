package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// newJWKSServer is a server whose issuer has signed one token, so the JWKS
// lists one key; now drives the issuer's clock.
func newJWKSServer(tb testing.TB, now *time.Time) (*Server, *identity.Issuer) {
	tb.Helper()
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:   "http://127.0.0.1:7007/api/auth",
		Keys:     identity.NewMemoryKeyStore(),
		UserInfo: identity.NewMemoryUserInfoStore(),
		Now:      func() time.Time { return *now },
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tokens.IssueToken(context.Background(), identity.Claims{Sub: "user:default/jane", Ent: []string{"user:default/jane"}}); err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{AppBaseURL: "http://127.0.0.1:3000", AuthBaseURL: "http://127.0.0.1:7007/api/auth", Tokens: tokens})
	if err != nil {
		tb.Fatal(err)
	}
	return s, tokens
}

// BenchmarkJWKS is GET /api/auth/.well-known/jwks.json through the whole
// handler chain: a full answer, and (Revalidate) a cached copy's
// conditional request answered 304.
func BenchmarkJWKS(b *testing.B) {
	now := time.Now()
	s, _ := newJWKSServer(b, &now)
	h := s.Handler()
	for _, tc := range []struct {
		name        string
		ifNoneMatch bool
	}{{"Full", false}, {"Revalidate", true}} {
		etag := serveReq(h, httptest.NewRequest(http.MethodGet, "/api/auth/.well-known/jwks.json", nil)).Header().Get("ETag")
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/api/auth/.well-known/jwks.json", nil)
				if tc.ifNoneMatch {
					r.Header.Set("If-None-Match", etag)
				}
				serveReq(h, r)
			}
		})
	}
}

// TestJWKSConditional: the JWKS carries a strong ETag and a public
// Cache-Control; a request naming that tag gets 304 with no body; the body
// is the issuer's, byte for byte; a key rotation changes the tag, so a
// verifier holding the old one gets the new set.
func TestJWKSConditional(t *testing.T) {
	now := time.Now()
	s, tokens := newJWKSServer(t, &now)
	h := s.Handler()
	get := func(inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/auth/.well-known/jwks.json", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		return serveReq(h, r)
	}
	w := get("")
	body, _ := tokens.JWKS(context.Background())
	etag := w.Header().Get("ETag")
	if w.Code != 200 || w.Body.String() != string(body) || etag == "" || etag[0] != '"' || w.Header().Get("Cache-Control") != "public, max-age=1" {
		t.Fatalf("JWKS: %d ETag %q Cache-Control %q body %s", w.Code, etag, w.Header().Get("Cache-Control"), w.Body)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if w := get(inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag || w.Header().Get("Cache-Control") == "" {
			t.Errorf("If-None-Match %s: %d ETag %q body %q, want 304 with the tag, no body", inm, w.Code, w.Header().Get("ETag"), w.Body)
		}
	}
	now = now.Add(2 * time.Hour) // the next token rotates the signing key
	if _, err := tokens.IssueToken(context.Background(), identity.Claims{Sub: "user:default/jane"}); err != nil {
		t.Fatal(err)
	}
	w = get(etag)
	if w.Code != 200 || w.Header().Get("ETag") == etag || w.Body.Len() <= len(body) {
		t.Errorf("after rotation, the old tag: %d ETag %q body %s, want 200 with a new tag and two keys", w.Code, w.Header().Get("ETag"), w.Body)
	}
}
