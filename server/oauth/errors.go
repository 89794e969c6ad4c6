package oauth

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
)

// Error is an OAuth-style error answer (spec §2.0.4):
// {"error":Code,"error_description":Description} with Status.
type Error struct {
	Status      int
	Code        string
	Description string
	// Challenge, when set, is the WWW-Authenticate header of a 401
	// (RFC 6749 §5.2, RFC 6750 §3); Backstage sends none (§6.14).
	Challenge string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// OAuth error codes used here (RFC 6749 §5.2, RFC 7009, RFC 8707).
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	CodeInvalidTarget        = "invalid_target"
	CodeAccessDenied         = "access_denied"
	CodeServerError          = "server_error"
	CodeNotFound             = "not_found"
	CodeInvalidRedirectURI   = "invalid_redirect_uri"
	CodeInvalidClientMeta    = "invalid_client_metadata"
)

func newError(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Description: description}
}

// invalidRequest is 400 invalid_request.
func invalidRequest(description string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidRequest, description)
}

// invalidGrant is 400 invalid_grant.
func invalidGrant(description string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidGrant, description)
}

// invalidClient is 401 invalid_client with a Basic challenge, as RFC 6749
// §5.2 asks when the client may authenticate with HTTP Basic.
func (s *Server) invalidClient(description string) *Error {
	e := newError(http.StatusUnauthorized, CodeInvalidClient, description)
	e.Challenge = `Basic realm="` + s.cfg.AuthBaseURL + `"`
	return e
}

// internalMessage is error_description of a server_error: the detail stays
// in the log, under the request id the answer names (spec §6.20).
const internalMessage = "An internal error occurred"

// oauthError turns err into the OAuth-style answer (OidcError.fromError,
// spec §2.0.4): an *Error as is; autherr names by Backstage's table;
// anything else a 500 server_error whose description never carries the
// error's own text.
func (s *Server) oauthError(c echo.Context, err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	var ae *autherr.Error
	if errors.As(err, &ae) {
		switch ae.Name {
		case autherr.NameInput, autherr.NameNotFound, autherr.NameConflict:
			return invalidRequest(ae.Message)
		case autherr.NameAuthentication:
			return s.invalidClient(ae.Message)
		case autherr.NameNotAllowed:
			return newError(http.StatusForbidden, CodeAccessDenied, ae.Message)
		}
	}
	msg := internalMessage
	if id := requestid.FromContext(c.Request().Context()); id != "" {
		msg += " (request id " + id + ")"
	}
	return newError(http.StatusInternalServerError, CodeServerError, msg)
}

// writeError writes err OAuth-style and logs it: at info for a client's
// mistake, at error with the detail for a server_error.
func (s *Server) writeError(c echo.Context, err error) error {
	oe := s.oauthError(c, err)
	level := slog.LevelInfo
	if oe.Status >= 500 {
		level = slog.LevelError
	}
	r := c.Request()
	s.log.LogAttrs(r.Context(), level, "OAuth request failed",
		slog.String("route", c.Path()), slog.Int("status", oe.Status),
		slog.String("error", oe.Code), slog.String("detail", err.Error()))
	h := c.Response().Header()
	if oe.Challenge != "" && oe.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", oe.Challenge)
	}
	h.Set("Cache-Control", "no-store")
	return writeJSON(c, oe.Status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{oe.Code, oe.Description}, false)
}
