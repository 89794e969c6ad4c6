package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// revoke is POST /v1/revoke (spec §2.10). STUB.
func (s *Server) revoke(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }
