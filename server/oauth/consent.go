package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// getSession is GET /v1/sessions/:sessionId (spec §2.6). STUB.
func (s *Server) getSession(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }

// approve is POST /v1/sessions/:sessionId/approve (spec §2.7). STUB.
func (s *Server) approve(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }

// reject is POST /v1/sessions/:sessionId/reject (spec §2.8). STUB.
func (s *Server) reject(c echo.Context) error { return c.NoContent(http.StatusNotImplemented) }
