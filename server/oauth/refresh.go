package oauth

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
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

const (
	// refreshClaimTTL is how long one request's claim on a refresh token
	// holds before another may take over, should the claimer die between
	// claiming and answering. A rotation is a few store statements.
	refreshClaimTTL = 10 * time.Second
	// refreshWaitMax bounds how long a request waits for the concurrent
	// request that claimed the same token to record its answer.
	refreshWaitMax = 5 * time.Second
	// refreshPollMax is the longest pause between two looks.
	refreshPollMax = 100 * time.Millisecond
	// graceLabel is the HKDF label of the key sealing grace records: its
	// own, so a record never opens as anything else.
	graceLabel = "gatehouse oauth refresh grace record v1"
)

// msgInvalidRefresh is the refresh grant's answer for every token that
// does not (or no longer) work (spec §2.9.2 steps 5, 6, 8, 10).
const msgInvalidRefresh = "Invalid refresh token"

// refreshGrace shares a rotation's answer with the other presenters of
// the same token for the grace period, across replicas sharing the store:
// identity.RefreshGraceStore elects the request that rotates, which
// records the new refresh token sealed; the others replay it.
type refreshGrace struct {
	store  identity.RefreshGraceStore
	period time.Duration
	aead   cipher.AEAD
}

func (g *refreshGrace) init(o Options) error {
	g.store, g.period = o.Grace, o.GracePeriod
	if g.store == nil {
		g.store = identity.NewMemoryRefreshGraceStore()
	}
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

// graceKey names a presented refresh token in the grace store: its hash,
// never the token.
func graceKey(token string) string { return "oauth-refresh/" + identity.HashSecret(token) }

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
	rec, err := s.rotate(ctx, sess, token, secret)
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

// rotate spends token: the current secret is rotated by the one request
// that claims it; a token rotated out within the grace period replays
// that rotation's answer; a token rotated out earlier is reuse, which the
// store answers by revoking the family.
func (s *Server) rotate(ctx context.Context, sess identity.RefreshSession, token, secret string) (graceRecord, error) {
	g := &s.tok.grace
	key := graceKey(token)
	current := subtle.ConstantTimeCompare([]byte(identity.HashSecret(secret)), []byte(sess.SecretHash)) == 1
	// The wait is in real time: it is about concurrent requests, not
	// token lifetimes (which follow s.now). Only the current secret may
	// claim; a rotated-out one can only find (or wait for) an answer.
	wctx, cancel := context.WithTimeout(ctx, refreshWaitMax)
	defer cancel()
	got, err := identity.ClaimOrAwaitRefresh(wctx, g.store, key, s.now, refreshClaimTTL, refreshPollMax, current)
	switch {
	case err != nil && wctx.Err() != nil:
		return graceRecord{}, autherr.Wrap(autherr.NameServiceUnavailable, "timed out waiting for a concurrent refresh of the same token", err)
	case err != nil && current:
		// Without the grace store the rotation still works; only a retry
		// of this token will count as reuse.
		s.log.WarnContext(ctx, "refresh grace store unavailable; rotating without it", "error", err.Error())
		return s.rotateNow(ctx, sess, secret)
	case err != nil:
		// Never revoke a family because the store that would have told a
		// retry from a theft is down.
		return graceRecord{}, err
	case got.Won:
		return s.rotateClaimed(ctx, sess, key, secret)
	case got.Answer != nil:
		rec, err := g.open(key, got.Answer)
		if err != nil {
			s.log.WarnContext(ctx, "refresh grace record unusable", "error", err.Error())
			return graceRecord{}, invalidGrant(msgInvalidRefresh)
		}
		return rec, nil
	}
	// Rotated out and past the grace period (or never issued): the store
	// tells reuse, and revokes, from a wrong secret.
	return graceRecord{}, s.reuse(ctx, sess, secret)
}

// rotateClaimed is the claiming request's part: the catalog check, the
// store's rotation, and the sealed answer for the grace period. On failure
// the claim is released so that a waiting request tries itself.
func (s *Server) rotateClaimed(ctx context.Context, sess identity.RefreshSession, key, secret string) (graceRecord, error) {
	g := &s.tok.grace
	rec, err := s.rotateNow(ctx, sess, secret)
	if err != nil {
		if rerr := g.store.ReleaseRefresh(ctx, key); rerr != nil {
			s.log.WarnContext(ctx, "could not release a refresh grace claim", "error", rerr.Error())
		}
		return graceRecord{}, err
	}
	sealed, err := g.seal(key, rec)
	if err == nil {
		err = g.store.PutRefresh(ctx, key, sealed, s.now().Add(g.period))
	}
	if err != nil {
		// This request is answered; a retry of the old token will be
		// treated as reuse, as without a grace store.
		s.log.WarnContext(ctx, "refresh grace record unavailable", "error", err.Error())
	}
	return rec, nil
}

// rotateNow checks the user still exists and rotates the session to a new
// secret.
func (s *Server) rotateNow(ctx context.Context, sess identity.RefreshSession, secret string) (graceRecord, error) {
	if err := s.checkUserExists(ctx, sess); err != nil {
		return graceRecord{}, err
	}
	newSecret, err := randomSecret()
	if err != nil {
		return graceRecord{}, err
	}
	_, err = s.opts.Store.RotateRefreshSession(ctx, sess.ID, identity.HashSecret(secret), identity.HashSecret(newSecret), s.now(), s.cfg.Refresh.IdleLifetime)
	if err != nil {
		return graceRecord{}, s.rotationFailed(ctx, sess, err)
	}
	return graceRecord{RefreshToken: sess.ID + "." + newSecret, User: sess.UserEntityRef}, nil
}

// reuse presents a secret that is not the session's current one to the
// store, which deletes the family when the secret was rotated out.
func (s *Server) reuse(ctx context.Context, sess identity.RefreshSession, secret string) error {
	unused, err := randomSecret()
	if err != nil {
		return err
	}
	_, err = s.opts.Store.RotateRefreshSession(ctx, sess.ID, identity.HashSecret(secret), identity.HashSecret(unused), s.now(), s.cfg.Refresh.IdleLifetime)
	if err == nil {
		// The secret became current meanwhile (cannot happen for a
		// secret this server rotated out); refuse rather than answer
		// with a token no one holds.
		return invalidGrant(msgInvalidRefresh)
	}
	return s.rotationFailed(ctx, sess, err)
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
	secret, err := randomSecret()
	if err != nil {
		s.log.WarnContext(ctx, "could not issue a refresh token", "user", rs.UserEntityRef, "error", err.Error())
		return ""
	}
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

// randomSecret is 32 random bytes, base64url without padding (43 chars):
// a refresh token's secret part, a DCR client secret.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// seal is AES-256-GCM over the record's JSON with the key as additional
// data: a record moved to another token's row does not open.
func (g *refreshGrace) seal(key string, rec graceRecord) ([]byte, error) {
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return sealbox.Seal(g.aead, plain, []byte(key))
}

func (g *refreshGrace) open(key string, sealed []byte) (graceRecord, error) {
	var rec graceRecord
	plain, err := sealbox.Open(g.aead, sealed, []byte(key))
	if err != nil {
		return rec, errors.New("refresh grace record does not open (sealed with another auth.session.secret?)")
	}
	if err := json.Unmarshal(plain, &rec); err != nil || rec.RefreshToken == "" {
		return rec, errors.New("refresh grace record is malformed")
	}
	return rec, nil
}
