package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// authzState is what /v1/authorize and the consent routes keep
// (authorize.go, consent.go, clients.go).
type authzState struct{}

func (a *authzState) init(s *Server) error { return nil }

// authorize is GET /v1/authorize (spec §2.5). STUB: owned by the authorize helper.
func (s *Server) authorize(c echo.Context) error {
	return c.NoContent(http.StatusNotImplemented)
}
