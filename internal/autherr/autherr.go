// Package autherr holds the typed errors of the sign-in flow. They mirror
// @backstage/errors (InputError, AuthenticationError, NotAllowedError,
// NotFoundError, ConflictError, ServiceUnavailableError, …) so that the server
// can map any error to Backstage's JSON envelope and status in one place.
package autherr

import (
	"errors"
	"fmt"
)

// The error names Backstage puts on the wire. Status gives their HTTP codes.
const (
	NameInput              = "InputError"
	NameAuthentication     = "AuthenticationError"
	NameNotAllowed         = "NotAllowedError"
	NameNotFound           = "NotFoundError"
	NameConflict           = "ConflictError"
	NameNotModified        = "NotModifiedError"
	NameNotImplemented     = "NotImplementedError"
	NameServiceUnavailable = "ServiceUnavailableError"
	// NameError is the name of a plain JavaScript Error; it maps to 500.
	NameError = "Error"
)

// Error is a named error with an optional cause. Its Error() string follows
// Backstage's CustomErrorBase: "<message>; caused by <CauseName>: <cause message>".
type Error struct {
	// Name is one of the Name* constants (or any other name a caller needs).
	Name string
	// Message is the message without the cause suffix.
	Message string
	// Cause, when set, is appended to the message and serialised as "cause".
	Cause error
	// HTTPStatus, when set, replaces the status that Name maps to; for the
	// few answers whose status is fixed by Gatehouse's own rules rather than
	// by Backstage's name-to-status table.
	HTTPStatus int
}

// Error returns the Backstage-style message, including the cause.
func (e *Error) Error() string {
	if e.Cause == nil {
		return e.Message
	}
	return e.Message + "; caused by " + NameOf(e.Cause) + ": " + e.Cause.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

func newf(name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...)}
}

// Input is a 400: the request was malformed.
func Input(format string, args ...any) *Error { return newf(NameInput, format, args...) }

// Authentication is a 401: credentials are missing or invalid.
func Authentication(format string, args ...any) *Error {
	return newf(NameAuthentication, format, args...)
}

// NotAllowed is a 403: the caller is known but may not do this.
func NotAllowed(format string, args ...any) *Error { return newf(NameNotAllowed, format, args...) }

// NotFound is a 404. A sign-in resolver that answers NotFound lets the chain
// try the next resolver; every other error stops it.
func NotFound(format string, args ...any) *Error { return newf(NameNotFound, format, args...) }

// Conflict is a 409, e.g. a user lookup with several matches.
func Conflict(format string, args ...any) *Error { return newf(NameConflict, format, args...) }

// ServiceUnavailable is a 503: a dependency (IdP, database, catalog) is down.
func ServiceUnavailable(format string, args ...any) *Error {
	return newf(NameServiceUnavailable, format, args...)
}

// Plain is a 500 named "Error", like a JavaScript `new Error(msg)`.
func Plain(format string, args ...any) *Error { return newf(NameError, format, args...) }

// Wrap returns a named error whose message carries the cause.
func Wrap(name, message string, cause error) *Error {
	return &Error{Name: name, Message: message, Cause: cause}
}

// NameOf returns the Backstage name of err: the Name of the outermost *Error,
// or "Error" for any other error.
func NameOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return NameError
}

// Is reports whether err is, or wraps, an *Error with the given name at its
// outermost typed layer.
func Is(err error, name string) bool {
	var e *Error
	return errors.As(err, &e) && e.Name == name
}

// IsNotFound reports whether err is a NotFoundError.
func IsNotFound(err error) bool { return Is(err, NameNotFound) }

// StatusOf is the HTTP status of err: the outermost *Error's HTTPStatus
// when set, else Status of its name.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	return Status(NameOf(err))
}

// Status maps an error name to its HTTP status, as Backstage's error
// middleware does; unknown names are 500.
func Status(name string) int {
	switch name {
	case NameInput:
		return 400
	case NameAuthentication:
		return 401
	case NameNotAllowed:
		return 403
	case NameNotFound:
		return 404
	case NameConflict:
		return 409
	case NameNotModified:
		return 304
	case NameNotImplemented:
		return 501
	case NameServiceUnavailable:
		return 503
	}
	return 500
}
