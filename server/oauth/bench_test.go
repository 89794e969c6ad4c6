package oauth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// BenchmarkRefreshGrant is one refresh_token grant on the memory stores,
// without HTTP: parse, session read, grace claim, catalog check, rotation,
// sealed grace record, access token signature. Target: < 0.5 ms of CPU.
func BenchmarkRefreshGrant(b *testing.B) {
	cfg := testConfig()
	issuer, err := identity.NewIssuer(identity.Options{Issuer: cfg.AuthBaseURL})
	if err != nil {
		b.Fatal(err)
	}
	store := identity.NewMemoryOAuthStore()
	s, err := New(Options{Config: cfg, Store: store, Tokens: issuer, Users: &fakeUsers{present: map[string]bool{testUser: true}},
		GraceSecret: "bench", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	rt := s.issueRefreshToken(context.Background(), testUser, testCIMDClient, "openid offline_access")
	if rt == "" {
		b.Fatal("no refresh token")
	}
	e := echo.New()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/api/auth/v1/token", strings.NewReader(`{"grant_type":"refresh_token","refresh_token":"`+rt+`"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		if err := s.token(e.NewContext(req, rec)); err != nil || rec.Code != 200 {
			b.Fatalf("%v %d %s", err, rec.Code, rec.Body)
		}
		var ans tokenAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			b.Fatal(err)
		}
		rt = ans.RefreshToken
	}
}
