package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// HashSecret is the form in which an OAuthStore keeps a client secret, an
// authorization code or a refresh token's secret part: the lower-case hex
// SHA-256 of the string. These secrets are 32 random bytes, so a fast hash
// suffices (a slow one such as Backstage's scrypt buys nothing against
// guessing 256 bits) and lets a store look a code up by its hash.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Statuses of an AuthSession.
const (
	AuthPending  = "pending"
	AuthApproved = "approved"
	AuthRejected = "rejected"
)

// The typed errors an OAuthStore returns where a caller must tell cases
// apart; compare with errors.Is. Each is also an autherr error (Conflict or
// NotFound), so it maps to a status on its own.
var (
	// ErrAuthSessionDecided: the authorization session was already
	// approved or rejected; a second decision never wins.
	ErrAuthSessionDecided = &autherr.Error{Name: autherr.NameConflict, Message: "The authorization session has already been decided"}
	// ErrAuthSessionExpired: the session is past its Expires.
	ErrAuthSessionExpired = &autherr.Error{Name: autherr.NameNotFound, Message: "The authorization session has expired"}
	// ErrCodeReplayed: the authorization code was already redeemed. RedeemCode
	// returns the code's record with it, so the caller can revoke what the
	// first redemption issued (RFC 6819 §4.4.1.1).
	ErrCodeReplayed = &autherr.Error{Name: autherr.NameConflict, Message: "The authorization code has already been used"}
	// ErrCodeExpired: the authorization code exists, unused, but is past
	// its Expires, so the caller can say so (spec §2.9.1 step 3) instead
	// of calling it unknown.
	ErrCodeExpired = &autherr.Error{Name: autherr.NameNotFound, Message: "The authorization code has expired"}
	// ErrRefreshReused: a refresh token that rotation had replaced was
	// presented again. The store has already deleted the whole family (the
	// refresh session), as OAuth 2.0 Security BCP §4.14.2 asks.
	ErrRefreshReused = &autherr.Error{Name: autherr.NameConflict, Message: "The refresh token has already been used"}
	// ErrRefreshGraceReplay: the presented secret is the one the session's
	// previous rotation replaced, within that rotation's grace period (a
	// concurrent loser, or a client's retry). RotateRefreshSession returns
	// the session as stored with it, so the caller replays PrevAnswer;
	// nothing was changed or revoked.
	ErrRefreshGraceReplay = &autherr.Error{Name: autherr.NameConflict, Message: "The refresh token was just rotated"}
)

// OAuthClient is a client registered by dynamic client registration.
type OAuthClient struct {
	ID string
	// SecretHash is HashSecret of the client secret; the secret itself is
	// never stored.
	SecretHash    string
	Name          string
	RedirectURIs  []string
	GrantTypes    []string
	ResponseTypes []string
	Scope         string
	Created       time.Time
	// Expires is when the registration lapses; the zero time never does.
	Expires  time.Time
	LastUsed time.Time
}

// AuthSession is one /v1/authorize request waiting for the user's consent.
type AuthSession struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Scope               string
	CodeChallenge       string
	CodeChallengeMethod string
	State               string
	Nonce               string
	Resource            string
	Expires             time.Time
	// Status is AuthPending, AuthApproved or AuthRejected.
	Status string
	// UserEntityRef is who decided; "" while pending.
	UserEntityRef string
}

// AuthCode is an issued authorization code, kept by its hash.
type AuthCode struct {
	// Hash is HashSecret of the code.
	Hash          string
	SessionID     string
	ClientID      string
	RedirectURI   string
	UserEntityRef string
	Expires       time.Time
}

// RefreshSession is one offline session: the row behind a refresh token
// `<ID>.<secret>` (spec §4.3). ID is stable across rotations and is the
// token family: reusing a rotated-out secret deletes the row, which revokes
// every token of the family at once.
type RefreshSession struct {
	ID            string
	UserEntityRef string
	ClientID      string
	Scope         string
	// Resource is the RFC 8707 resource of the authorization the session
	// came from ("" for none): every access token it mints keeps that
	// audience.
	Resource string
	// SecretHash is HashSecret of the current secret part.
	SecretHash string
	Created    time.Time
	LastUsed   time.Time
	// IdleExpires is LastUsed plus the idle lifetime, never after Expires.
	IdleExpires time.Time
	// Expires is the absolute end: Created plus the rotation lifetime.
	// Rotation never moves it.
	Expires time.Time
	// PrevHash is HashSecret of the secret the last rotation replaced
	// ("" before the first rotation).
	PrevHash string
	// PrevAnswer is what the last rotation's caller gave the store to
	// replay (sealed by the caller; the store keeps it opaque).
	PrevAnswer []byte
	// PrevUntil is the end of the last rotation's grace period: until
	// then, PrevHash replays PrevAnswer instead of counting as reuse.
	PrevUntil time.Time
}

// OAuthClientStore keeps DCR clients.
type OAuthClientStore interface {
	// CreateClient inserts c; an existing ID is a Conflict.
	CreateClient(ctx context.Context, c OAuthClient) error
	// GetClient returns the client, or NotFound. It does not check Expires:
	// the caller decides with its own clock.
	GetClient(ctx context.Context, id string) (OAuthClient, error)
	// TouchClient sets LastUsed = now and Expires = expires (the zero time:
	// never), so that a registration in use is kept while one left unused
	// lapses and DeleteExpired removes it; NotFound when there is no such
	// client.
	TouchClient(ctx context.Context, id string, now, expires time.Time) error
}

// AuthSessionStore keeps authorization sessions.
type AuthSessionStore interface {
	// CreateAuthSession inserts s with Status AuthPending (whatever s says)
	// and no UserEntityRef; an existing ID is a Conflict.
	CreateAuthSession(ctx context.Context, s AuthSession) error
	// GetAuthSession returns the session, or NotFound.
	GetAuthSession(ctx context.Context, id string) (AuthSession, error)
	// ApproveAuthSession moves a pending, unexpired session to AuthApproved
	// for userEntityRef in one conditional write: of any number of
	// concurrent calls (on any replica sharing the store) at most one
	// succeeds. Others get ErrAuthSessionDecided, ErrAuthSessionExpired or
	// NotFound. It returns the session as approved.
	ApproveAuthSession(ctx context.Context, id, userEntityRef string, now time.Time) (AuthSession, error)
	// RejectAuthSession is ApproveAuthSession's twin for AuthRejected.
	RejectAuthSession(ctx context.Context, id, userEntityRef string, now time.Time) (AuthSession, error)
}

// AuthCodeStore keeps authorization codes.
type AuthCodeStore interface {
	// CreateCode inserts c; an existing Hash is a Conflict.
	CreateCode(ctx context.Context, c AuthCode) error
	// RedeemCode marks the code with this hash used, once: of any number of
	// concurrent calls exactly one returns the record with a nil error.
	// Later calls return the record and ErrCodeReplayed; an unused code
	// past its Expires is ErrCodeExpired (a NotFound), an unknown one
	// NotFound.
	RedeemCode(ctx context.Context, hash string, now time.Time) (AuthCode, error)
}

// RefreshSessionStore keeps offline sessions.
type RefreshSessionStore interface {
	// CreateRefreshSession inserts s after deleting the user's least
	// recently used sessions (LastUsed, then ID, ascending) until fewer
	// than maxPerUser remain (maxPerUser <= 0: no cap), all in one
	// transaction, and returns how many it deleted so the caller can log
	// the eviction. Unlike Backstage it keeps the user's other sessions for
	// the same client: one session per device (two machines running the
	// Backstage CLI share its client_id), within the per-user cap (spec
	// §6.7). Two concurrent creations for one user may briefly leave
	// maxPerUser+1.
	CreateRefreshSession(ctx context.Context, s RefreshSession, maxPerUser int) (evicted int, err error)
	// GetRefreshSession returns the session, or NotFound. It does not check
	// expiry.
	GetRefreshSession(ctx context.Context, id string) (RefreshSession, error)
	// RotateRefreshSession replaces the secret hash oldHash of session id by
	// newHash, sets LastUsed = now, IdleExpires = min(now+idle, Expires),
	// and records the rotation (PrevHash = oldHash, PrevAnswer = answer,
	// PrevUntil = graceUntil), in one conditional write that also requires
	// the session unexpired at now: of concurrent calls with one oldHash at
	// most one succeeds, and it returns the session as it now is.
	//
	// When the write matches nothing: if oldHash is the session's PrevHash
	// and now is before PrevUntil (and the session unexpired), it returns
	// the session as stored and ErrRefreshGraceReplay, changing nothing —
	// every concurrent loser gets this, on any replica. Otherwise, if
	// oldHash was rotated out earlier (rotated-out hashes are remembered
	// until the session is deleted, one per rotation), it deletes the
	// session and returns ErrRefreshReused. Any other mismatch, an expired
	// session or an unknown id is NotFound.
	RotateRefreshSession(ctx context.Context, id, oldHash, newHash string, answer []byte, graceUntil, now time.Time, idle time.Duration) (RefreshSession, error)
	// DeleteRefreshSession deletes the session (revocation); deleting a
	// missing one is not an error.
	DeleteRefreshSession(ctx context.Context, id string) error
	// DeleteRefreshSessionsFor deletes userEntityRef's sessions for
	// clientID, e.g. after ErrCodeReplayed; it returns how many.
	DeleteRefreshSessionsFor(ctx context.Context, userEntityRef, clientID string) (int, error)
}

// OAuthStore is everything the OAuth authorization server keeps. It may be
// shared by several replicas; implementations must be safe for concurrent
// use and the single-use guarantees above hold across replicas.
type OAuthStore interface {
	OAuthClientStore
	AuthSessionStore
	AuthCodeStore
	RefreshSessionStore
	// DeleteExpired deletes, as of now, expired clients (non-zero Expires),
	// authorization sessions, codes and refresh sessions (idle or absolute)
	// and returns how many rows it deleted in all.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}
