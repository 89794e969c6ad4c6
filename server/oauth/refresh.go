package oauth

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
)

// DefaultRefreshGracePeriod is how long a refresh token just rotated out
// may be presented again and get the same new refresh token (a client's
// retry after a lost answer, two requests racing) before its reuse counts
// as theft and revokes the family.
const DefaultRefreshGracePeriod = 10 * time.Second

// graceLabel is the HKDF label of the key sealing grace answers: its own,
// so a sealed answer never opens as anything else.
const graceLabel = "gatehouse oauth refresh grace record v1"

// msgInvalidRefresh is the refresh grant's answer for every token that
// does not (or no longer) work (spec §2.9.2 steps 5, 6, 8, 10).
const msgInvalidRefresh = "Invalid refresh token"

// refreshGrace seals a rotation's answer, which the store keeps in the
// refresh session's own row (RefreshSession.PrevAnswer) for the grace
// period, written by the rotation's one transaction: a concurrent loser
// or a retry of the rotated-out token, on any replica sharing the store,
// replays it.
type refreshGrace struct {
	period time.Duration
	aead   cipher.AEAD
}

func (g *refreshGrace) init(o Options) error {
	g.period = o.GracePeriod
	if g.period == 0 {
		g.period = DefaultRefreshGracePeriod
	}
	// A negative period records answers already expired: no grace, every
	// second presentation of a rotated token is reuse.
	if !o.Config.Refresh.Enabled {
		return nil
	}
	var err error
	if g.aead, err = sealbox.Derive(o.GraceSecret, graceLabel); err != nil {
		return errors.New("oauth: refresh tokens: " + err.Error())
	}
	return nil
}

// graceRecord is a sealed grace answer: the refresh token the rotation
// issued and whose it is.
type graceRecord struct {
	RefreshToken string `json:"rt"`
	User         string `json:"u"`
}

// graceAD is a grace answer's additional data: the session and the hash
// of the secret it answers, so that an answer moved to another session or
// offered for another secret does not open.
func graceAD(sessionID, presentedHash string) []byte {
	return []byte("oauth-refresh/" + sessionID + "/" + presentedHash)
}

// refreshGrant is the refresh_token grant (spec §2.9.2), with client
// binding, reuse detection and the grace period.
func (s *Server) refreshGrant(c echo.Context, p *params) error {
	ctx := c.Request().Context()
	token := p.str("refresh_token", false, false)
	if err := p.err(); err != nil {
		return err
	}
	if token == "" {
		return invalidRequest("Missing refresh_token parameter for refresh_token grant")
	}
	resource, err := resourceParam(p)
	if err != nil {
		return err
	}
	who, err := s.authenticate(ctx, credentials(c, p))
	if err != nil {
		return err
	}
	if !s.cfg.Refresh.Enabled {
		return invalidRequest("Refresh tokens are not enabled")
	}
	id, secret, ok := splitRefreshToken(token)
	if !ok {
		return invalidGrant("Invalid refresh token format")
	}
	sess, err := s.liveRefreshSession(ctx, id)
	if err != nil {
		return err
	}
	if err := s.bindClient(ctx, who, sess.ClientID, invalidGrant("Refresh token was not issued to this client")); err != nil {
		return err
	}
	if resource, err = matchResource(resource, sess.Resource); err != nil {
		return err
	}
	rec, err := s.rotate(ctx, sess, secret)
	if err != nil {
		return err
	}
	ans, err := s.accessToken(ctx, rec.User, resource)
	if err != nil {
		return err
	}
	ans.RefreshToken = rec.RefreshToken
	return writeJSON(c, http.StatusOK, ans, true)
}

// splitRefreshToken is Backstage's parse (spec §4.3): exactly two
// non-empty parts around a '.'.
func splitRefreshToken(token string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(token, ".")
	if !ok || id == "" || secret == "" || strings.Contains(secret, ".") {
		return "", "", false
	}
	return id, secret, true
}

// liveRefreshSession reads the session; an unknown or expired one (idle or
// absolute, deleted on sight) is "Invalid refresh token".
func (s *Server) liveRefreshSession(ctx context.Context, id string) (identity.RefreshSession, error) {
	sess, err := s.opts.Store.GetRefreshSession(ctx, id)
	if autherr.IsNotFound(err) {
		return sess, invalidGrant(msgInvalidRefresh)
	} else if err != nil {
		return sess, err
	}
	if now := s.now(); !now.Before(sess.IdleExpires) || !now.Before(sess.Expires) {
		if err := s.opts.Store.DeleteRefreshSession(ctx, id); err != nil {
			return sess, err
		}
		return sess, invalidGrant(msgInvalidRefresh)
	}
	return sess, nil
}

// rotate spends the presented secret: the current one is rotated (one
// write, which also records the sealed answer for the grace period); the
// one the last rotation replaced, within its grace period, replays that
// rotation's answer without writing; any other is presented to the store,
// which revokes the family when it was rotated out.
func (s *Server) rotate(ctx context.Context, sess identity.RefreshSession, secret string) (graceRecord, error) {
	hash := identity.HashSecret(secret)
	switch {
	case sameHash(hash, sess.SecretHash):
		return s.rotateCurrent(ctx, sess, hash)
	case sameHash(hash, sess.PrevHash) && s.now().Before(sess.PrevUntil):
		return s.replay(ctx, sess, hash)
	}
	return s.reuse(ctx, sess, hash)
}

// sameHash compares two secret hashes in constant time; "" never matches.
func sameHash(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// rotateCurrent checks the user still exists, then rotates the session to
// a new secret, storing the answer sealed for the grace period. A
// concurrent request that rotated the same secret first makes the store
// answer ErrRefreshGraceReplay with its answer, which this one replays.
func (s *Server) rotateCurrent(ctx context.Context, sess identity.RefreshSession, hash string) (graceRecord, error) {
	if err := s.checkUserExists(ctx, sess); err != nil {
		return graceRecord{}, err
	}
	g := &s.tok.grace
	next := newSecret()
	rec := graceRecord{RefreshToken: sess.ID + "." + next, User: sess.UserEntityRef}
	sealed, err := g.seal(graceAD(sess.ID, hash), rec)
	if err != nil {
		return graceRecord{}, err
	}
	now := s.now()
	stored, err := s.opts.Store.RotateRefreshSession(ctx, sess.ID, hash, identity.HashSecret(next), sealed, now.Add(g.period), now, s.cfg.Refresh.IdleLifetime)
	if errors.Is(err, identity.ErrRefreshGraceReplay) {
		return s.replay(ctx, stored, hash)
	} else if err != nil {
		return graceRecord{}, s.rotationFailed(ctx, sess, err)
	}
	return rec, nil
}

// replay opens the answer the session's last rotation stored for the
// secret hashed to hash. One that does not open (sealed under another
// auth.session.secret) is "Invalid refresh token", and revokes nothing.
func (s *Server) replay(ctx context.Context, sess identity.RefreshSession, hash string) (graceRecord, error) {
	rec, err := s.tok.grace.open(graceAD(sess.ID, hash), sess.PrevAnswer)
	if err != nil {
		s.log.WarnContext(ctx, "refresh grace record unusable", "session_id", sess.ID, "error", err.Error())
		return graceRecord{}, invalidGrant(msgInvalidRefresh)
	}
	return rec, nil
}

// reuse presents a secret that is not the session's current one to the
// store, which deletes the family when the secret was rotated out, or
// answers a grace replay when a concurrent rotation replaced it since
// this request read the session.
func (s *Server) reuse(ctx context.Context, sess identity.RefreshSession, hash string) (graceRecord, error) {
	now := s.now()
	stored, err := s.opts.Store.RotateRefreshSession(ctx, sess.ID, hash, identity.HashSecret(newSecret()), nil, now, now, s.cfg.Refresh.IdleLifetime)
	switch {
	case errors.Is(err, identity.ErrRefreshGraceReplay):
		return s.replay(ctx, stored, hash)
	case err == nil:
		// The secret became current meanwhile (cannot happen for a
		// secret this server rotated out); refuse rather than answer
		// with a token no one holds.
		return graceRecord{}, invalidGrant(msgInvalidRefresh)
	}
	return graceRecord{}, s.rotationFailed(ctx, sess, err)
}

// rotationFailed maps the store's refusal: reuse is logged at warn (who,
// which client, which session; never the secret); both it and a lost race
// or lapse are "Invalid refresh token".
func (s *Server) rotationFailed(ctx context.Context, sess identity.RefreshSession, err error) error {
	switch {
	case errors.Is(err, identity.ErrRefreshReused):
		s.log.LogAttrs(ctx, slog.LevelWarn, "refresh token reuse detected; session family revoked",
			slog.String("session_id", sess.ID), slog.String("client_id", sess.ClientID), slog.String("user", sess.UserEntityRef))
		return invalidGrant(msgInvalidRefresh)
	case autherr.IsNotFound(err):
		return invalidGrant(msgInvalidRefresh)
	}
	return err
}

// checkUserExists is the catalog presence check (spec §4.5).
func (s *Server) checkUserExists(ctx context.Context, sess identity.RefreshSession) error {
	if !s.cfg.Refresh.CheckCatalog || s.opts.Users == nil {
		return nil
	}
	ok, err := s.opts.Users.UserExists(ctx, sess.UserEntityRef)
	if err != nil {
		s.log.WarnContext(ctx, "catalog presence check failed", "user", sess.UserEntityRef, "error", err.Error())
		return invalidGrant("Unable to validate user existence")
	}
	if !ok {
		if err := s.opts.Store.DeleteRefreshSession(ctx, sess.ID); err != nil {
			return err
		}
		return invalidGrant("User entity no longer exists in the catalog")
	}
	return nil
}

// issueRefreshToken creates a refresh session for rs's user, client,
// scope and resource and returns its token `<uuid>.<secret>`, or "" when
// that failed (logged; the answer then lacks refresh_token, as in
// Backstage, spec §2.9.1 step 11).
func (s *Server) issueRefreshToken(ctx context.Context, rs identity.RefreshSession) string {
	secret := newSecret()
	now := s.now()
	end := now.Add(s.cfg.Refresh.AbsoluteLifetime)
	rs.ID, rs.SecretHash, rs.Created, rs.LastUsed = uuid.NewString(), identity.HashSecret(secret), now, now
	rs.IdleExpires, rs.Expires = identity.IdleExpiry(now, s.cfg.Refresh.IdleLifetime, end), end
	evicted, err := s.opts.Store.CreateRefreshSession(ctx, rs, s.cfg.Refresh.MaxPerUser)
	if err != nil {
		s.log.WarnContext(ctx, "could not issue a refresh token", "user", rs.UserEntityRef, "client_id", rs.ClientID, "error", err.Error())
		return ""
	}
	if evicted > 0 {
		s.log.InfoContext(ctx, "refresh session evicted (per-user cap)", "user", rs.UserEntityRef, "evicted", evicted, "max_per_user", s.cfg.Refresh.MaxPerUser)
	}
	return rs.ID + "." + secret
}

// seal is AES-256-GCM over the record's JSON with ad (graceAD) as
// additional data.
func (g *refreshGrace) seal(ad []byte, rec graceRecord) ([]byte, error) {
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return sealbox.Seal(g.aead, plain, ad)
}

func (g *refreshGrace) open(ad, sealed []byte) (graceRecord, error) {
	var rec graceRecord
	plain, err := sealbox.Open(g.aead, sealed, ad)
	if err != nil {
		return rec, errors.New("refresh grace record does not open (sealed with another auth.session.secret?)")
	}
	if err := json.Unmarshal(plain, &rec); err != nil || rec.RefreshToken == "" {
		return rec, errors.New("refresh grace record is malformed")
	}
	return rec, nil
}
