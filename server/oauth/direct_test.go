package oauth

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// bareServer is a Server on testConfig, memory stores, a real issuer and
// a discarded log, for fuzz targets and benchmarks that call handlers
// without HTTP.
func bareServer(tb testing.TB) *Server {
	tb.Helper()
	cfg := testConfig()
	issuer, err := identity.NewIssuer(identity.Options{Issuer: cfg.AuthBaseURL})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{Config: cfg, Store: identity.NewMemoryOAuthStore(), Tokens: issuer,
		Users: &fakeUsers{present: map[string]bool{testUser: true}}, GraceSecret: "bare",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var bareEcho = echo.New()

// callDirect runs handler on a POST with body, returning the recorder and
// the error the handler returned (an envelope error).
func callDirect(handler echo.HandlerFunc, contentType, body, authorization string) (*httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	return rec, handler(bareEcho.NewContext(req, rec))
}
