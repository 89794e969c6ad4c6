package oauth

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// revoke is POST /v1/revoke (spec §2.10, RFC 7009), stricter than
// Backstage (§6.6, §6.22): the token's secret part must be the session's
// current one, and the caller must be entitled to it — the client it was
// issued to, authenticated when that client is confidential (DCR). A
// public client's token (CIMD, the CLI) needs no client_id, so the CLI's
// logout, which sends none, works. Whatever cannot be revoked (unknown,
// malformed, rotated out, an access token) is 200 with nothing revoked.
func (s *Server) revoke(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := bodyParams(c)
	if err != nil {
		return err
	}
	token := p.str("token", true, true)
	p.str("token_type_hint", false, false) // accepted, ignored (RFC 7009 §2.1)
	p.str("client_id", false, false)
	p.str("client_secret", false, false)
	if err := p.err(); err != nil {
		return s.writeError(c, err)
	}
	who, err := s.authenticate(ctx, credentials(c, p))
	if err == nil {
		err = s.revokeToken(ctx, who, token)
	}
	if err != nil {
		return s.writeError(c, err)
	}
	// Backstage's empty 200 (spec §2.10 step 5).
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", "0")
	c.Response().WriteHeader(http.StatusOK)
	return nil
}

// revokeToken deletes the refresh session token names when its secret is
// current and who may revoke it.
func (s *Server) revokeToken(ctx context.Context, who caller, token string) error {
	id, secret, ok := splitRefreshToken(token)
	if !ok || !s.cfg.Refresh.Enabled {
		return nil
	}
	sess, err := s.opts.Store.GetRefreshSession(ctx, id)
	if autherr.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(identity.HashSecret(secret)), []byte(sess.SecretHash)) != 1 {
		return nil
	}
	notYours := newError(http.StatusBadRequest, CodeUnauthorizedClient, "The token was not issued to this client")
	if err := s.bindClient(ctx, who, sess.ClientID, notYours); err != nil {
		return err
	}
	return s.opts.Store.DeleteRefreshSession(ctx, id)
}
