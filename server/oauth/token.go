package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// tokenState is what /v1/token, /v1/revoke and /v1/register keep
// (token.go, refresh.go, revoke.go, register.go).
type tokenState struct{}

func (t *tokenState) init(s *Server) error { return nil }

// token is POST /v1/token (spec §2.9). STUB: owned by the token helper.
func (s *Server) token(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }
