package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// DefaultRegisterRate is how many registrations one client address may
// make per minute at /v1/register (spec §6.15).
const DefaultRegisterRate = 10

// register is POST /v1/register (spec §2.11). STUB.
func (s *Server) register(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }
