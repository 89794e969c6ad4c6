package server

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// errSessionEnded is the refusal of a refresh whose session has ended.
var errSessionEnded = autherr.Authentication("The session has ended: the user signed out at the identity provider, or an operator ended their sessions; sign in again")

// refuseEndedSession runs at /refresh before the IdP is called: when the
// session cookie names a session the store says has ended, the refresh
// fails (401, as other refresh failures) and the refresh and session
// cookies are cleared, so the IdP is never asked to refresh it. A session
// without a readable cookie is checked after the IdP answers instead
// (checkUnsealedSession), when it is known whose it is. It returns the
// cookie's claims (ok false without a readable cookie), so that the rest
// of the refresh does not open the cookie again.
//
// The check is one indexed read on every refresh (about 5% of a /refresh's
// CPU on SQLite), and it stays: a back-channel logout or `gatehouse
// sessions revoke` recorded by another replica, or by another process on
// the same SQLite file, must end the session at its next refresh, which a
// copy kept in this process could not see.
func (s *Server) refuseEndedSession(c echo.Context, rt *envRuntime) (sc sessionClaims, ok bool, err error) {
	raw := rt.jar.get(c.Request(), rt.jar.sessionName())
	if raw == "" {
		return sessionClaims{}, false, nil
	}
	if sc, ok = s.sessions.open(rt.id, rt.env, raw); !ok {
		return sessionClaims{}, false, nil
	}
	return sc, true, s.refuseIfEnded(c, rt, sc)
}

// checkUnsealedSession runs after a successful refresh of a session that
// carried no readable session cookie (signed in before Gatehouse set one):
// it counts as started at time zero, so any record naming its user ends
// it; otherwise it gets its cookie now, still started at time zero.
func (s *Server) checkUnsealedSession(c echo.Context, rt *envRuntime, result *providers.Result, resp *authResponse) error {
	r := c.Request()
	sc := sessionOf(result, resp, time.Time{})
	if err := s.refuseIfEnded(c, rt, sc); err != nil {
		return err
	}
	s.setSession(c.Response().Header(), r, rt, sc, r.Header.Get("Origin"))
	return nil
}

func (s *Server) refuseIfEnded(c echo.Context, rt *envRuntime, sc sessionClaims) error {
	r := c.Request()
	ended, err := s.opts.SessionEnds.Ended(r.Context(), sc.identitySession(rt.id))
	if err != nil {
		// Fail closed, but keep the cookies: the session may well be live.
		return autherr.Wrap(autherr.NameServiceUnavailable, "Could not check whether the session has ended", err)
	}
	if !ended {
		return nil
	}
	s.opts.Metrics.RefreshRefusedEnded(rt.id)
	h := c.Response().Header()
	origin := r.Header.Get("Origin")
	rt.jar.remove(h, r, rt.jar.refreshName(), rt.jar.path, origin)
	rt.jar.remove(h, r, rt.jar.sessionName(), rt.jar.path, origin)
	return errSessionEnded
}
