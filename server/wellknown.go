package server

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// jwks serves the cached JWKS body; it is on every backend's hot path.
// Its ETag and Cache-Control come with the key set snapshot, so a
// verifier's conditional request costs a string compare and a 304.
func (s *Server) jwks(c echo.Context) error {
	doc, err := s.opts.Tokens.JWKSDocument(c.Request().Context())
	if err != nil {
		writeError(c.Response(), c.Request(), err)
		return nil
	}
	return httpcache.Serve(c.Response(), c.Request(), doc)
}

var bearerRE = regexp.MustCompile(`(?i)^Bearer[ ]+(\S+)$`)

// userinfo is GET /v1/userinfo, as auth-backend answers it: {"claims": ...}
// of the Backstage token in the Authorization header.
func (s *Server) userinfo(c echo.Context) error {
	r := c.Request()
	m := bearerRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		writeError(c.Response(), r, autherr.Authentication("No token provided"))
		return nil
	}
	claims, err := s.opts.Tokens.UserInfo(r.Context(), m[1])
	if err != nil {
		if autherr.IsNotFound(err) {
			// Backstage answers this one as plain text, not the envelope.
			return c.String(http.StatusNotFound, "User info not found")
		}
		writeError(c.Response(), r, err)
		return nil
	}
	body, err := json.Marshal(map[string]any{"claims": claims})
	if err != nil {
		return err
	}
	return writeJSONBytes(c, body)
}

func writeJSONBytes(c echo.Context, body []byte) error {
	h := c.Response().Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(body)
	return err
}
