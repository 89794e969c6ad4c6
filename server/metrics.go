package server

import (
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// observeHTTP records every request on the auth routes under its Echo route
// pattern (c.Path(), e.g. /api/auth/:provider/start), never the raw path,
// so that a scan of random URLs cannot blow up the label set.
func (s *Server) observeHTTP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			// Commit the error answer now so that its status is recorded.
			c.Error(err)
		}
		s.opts.Metrics.HTTPRequest(c.Path(), c.Request().Method, c.Response().Status, time.Since(start))
		return nil
	}
}

// timed runs f and records its duration as step of provider's sign-in.
func timed[T any](s *Server, provider, step string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	s.opts.Metrics.Step(provider, step, time.Since(start))
	return v, err
}

// Stages of a sign-in, which resultOf needs to tell an IdP failure from a
// resolver's refusal.
const (
	stageIdP       = "idp"       // code exchange, refresh grant, userinfo, ID token checks
	stageTransform = "transform" // profile transforms
	stageResolve   = "resolve"   // the sign-in resolver chain
	stageToken     = "token"     // Backstage token issuance
)

// stageError marks the stage an error happened in. It changes neither the
// message nor the autherr name that the client sees.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// atStage marks err as having happened in stage (stage* constants). A nil
// err stays nil; an already-marked err keeps its first stage.
func atStage(stage string, err error) error {
	if err == nil {
		return nil
	}
	var se *stageError
	if errors.As(err, &se) {
		return err
	}
	return &stageError{stage: stage, err: err}
}

// resultOf is the one mapping from a sign-in or refresh outcome to the
// "result" label of the metrics and the log lines: success, bad_request,
// not_allowed, unauthenticated, unavailable, idp_error, transform_error,
// not_found, conflict, resolver_error, token_error, error.
func resultOf(err error) string {
	if err == nil {
		return "success"
	}
	name := autherr.NameOf(err)
	stage := ""
	var se *stageError
	if errors.As(err, &se) {
		stage = se.stage
	}
	switch stage {
	case stageIdP:
		if name == autherr.NameNotAllowed {
			return "not_allowed"
		}
		return "idp_error"
	case stageTransform:
		return "transform_error"
	case stageToken:
		return "token_error"
	case stageResolve:
		switch {
		case name == autherr.NameNotFound || errors.Is(err, resolvers.ErrUnresolved):
			return "not_found"
		case name == autherr.NameNotAllowed:
			return "not_allowed"
		case name == autherr.NameConflict:
			return "conflict"
		}
		return "resolver_error"
	}
	switch name {
	case autherr.NameInput:
		return "bad_request"
	case autherr.NameNotAllowed:
		return "not_allowed"
	case autherr.NameAuthentication:
		return "unauthenticated"
	case autherr.NameNotFound:
		return "not_found"
	case autherr.NameServiceUnavailable:
		return "unavailable"
	}
	return "error"
}
