package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// maxLogoutTokenBody bounds the form a back-channel logout may post: a
// logout token is a few kilobytes at most.
const maxLogoutTokenBody = 64 << 10

// backchannelLogout is POST /:provider/backchannel-logout?env=…, the
// back-channel logout endpoint of OpenID Connect Back-Channel Logout 1.0
// (section 2.5): the IdP posts a logout_token; once the provider has
// verified it (providers.BackchannelLogoutVerifier), every session of its
// sub and/or sid that started before its iat is recorded as ended in the
// shared store, and later refreshes of them fail on every replica. It
// answers 200 with an empty body, or 400 with {"error",
// "error_description"} (section 2.8); always with Cache-Control: no-store.
// It is not Backstage's: Backstage has no such route.
func (s *Server) backchannelLogout(c echo.Context, rt *envRuntime) error {
	r := c.Request()
	w := c.Response()
	w.Header().Set("Cache-Control", "no-store")
	refuse := func(result, code, desc string) error {
		s.opts.Metrics.BackchannelLogout(rt.id, result)
		s.log.LogAttrs(r.Context(), levelWarn, "back-channel logout refused", providerAttr(rt), stringAttr("reason", desc))
		body, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return nil
	}
	v, ok := rt.Provider.(providers.BackchannelLogoutVerifier)
	if !ok {
		return refuse(metrics.LogoutRefused, "invalid_request", "this provider does not support back-channel logout")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return refuse(metrics.LogoutRefused, "invalid_request", "the request body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutTokenBody)
	if err := r.ParseForm(); err != nil {
		return refuse(metrics.LogoutRefused, "invalid_request", "the request body is not a readable form")
	}
	tokens := r.PostForm["logout_token"]
	if len(tokens) != 1 {
		return refuse(metrics.LogoutRefused, "invalid_request", "the request must carry exactly one logout_token")
	}
	claims, err := v.VerifyLogoutToken(r.Context(), tokens[0])
	if err != nil {
		return refuse(metrics.LogoutRefused, "invalid_request", err.Error())
	}
	end := identity.SessionEnd{
		Provider: rt.id, Sub: claims.Subject, SID: claims.SessionID,
		// iat has one-second resolution: a session that started within
		// the token's iat second counts as started before it.
		Before: claims.IssuedAt.Truncate(time.Second).Add(time.Second),
		Reason: identity.ReasonBackchannelLogout, Source: claims.Issuer,
	}
	if err := s.opts.SessionEnds.EndSessions(r.Context(), end); err != nil {
		s.log.LogAttrs(r.Context(), levelWarn, "back-channel logout not recorded", providerAttr(rt), errorAttr(err))
		return refuse(metrics.LogoutError, "temporarily_unavailable", "the logout could not be recorded; send it again")
	}
	s.opts.Metrics.BackchannelLogout(rt.id, metrics.LogoutAccepted)
	s.log.LogAttrs(r.Context(), levelInfo, "back-channel logout", providerAttr(rt),
		stringAttr("sub", claims.Subject), stringAttr("sid", claims.SessionID))
	w.WriteHeader(http.StatusOK)
	return nil
}
