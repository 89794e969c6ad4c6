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
