package server

import (
	"time"

	"github.com/labstack/echo/v4"
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
