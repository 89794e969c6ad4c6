package server

import (
	"crypto/cipher"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// sessionCookieName is Gatehouse's own <provider>-session cookie: who
// signed in and when, sealed, so that /refresh can tell whether a
// back-channel logout or an operator has ended the session before it asks
// the IdP for anything. Backstage has no such cookie.
func (j *cookieJar) sessionName() string { return j.provider + "-session" }

// sessionClaims are the session cookie's plaintext.
type sessionClaims struct {
	Sub string `json:"sub,omitempty"`
	SID string `json:"sid,omitempty"`
	Ent string `json:"ent,omitempty"`
	// Started is the sign-in time in Unix microseconds; 0 for a session
	// first seen at a refresh (signed in before session cookies existed).
	Started int64 `json:"started"`
}

// sessionSealer seals session cookies with AES-256-GCM under a key derived
// from auth.session.secret with its own HKDF label, so a session cookie
// and a transaction cookie can never be swapped for each other.
type sessionSealer struct{ aead cipher.AEAD }

func newSessionSealer(secret string) (*sessionSealer, error) {
	aead, err := sealbox.Derive(secret, "gatehouse session cookie v1")
	if err != nil {
		return nil, err
	}
	return &sessionSealer{aead: aead}, nil
}

// seal returns base64url(nonce || ciphertext), bound to provider and env.
func (s *sessionSealer) seal(providerID, env string, c sessionClaims) (string, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return sealCookie(s.aead, plain, []byte("session\x00"+providerID+"\x00"+env))
}

// open unseals a session cookie; ok is false for anything that is not one
// this provider and env sealed with this secret.
func (s *sessionSealer) open(providerID, env, cookie string) (sessionClaims, bool) {
	plain, err := openCookie(s.aead, cookie, []byte("session\x00"+providerID+"\x00"+env))
	if err != nil {
		return sessionClaims{}, false
	}
	var c sessionClaims
	if json.Unmarshal(plain, &c) != nil {
		return sessionClaims{}, false
	}
	return c, true
}

// sessionOf is what a successful sign-in or refresh says about the user:
// the IdP subject and session id (ID token first, then userinfo), and the
// entity the resolvers chose.
func sessionOf(result *providers.Result, resp *authResponse, started time.Time) sessionClaims {
	c := sessionClaims{Ent: resp.entityRef}
	if !started.IsZero() {
		c.Started = started.UnixMicro()
	}
	c.Sub, _ = result.IDTokenClaims["sub"].(string)
	if c.Sub == "" {
		c.Sub, _ = result.UserInfo["sub"].(string)
	}
	c.SID, _ = result.IDTokenClaims["sid"].(string)
	return c
}

// identitySession is the store's view of a session cookie.
func (c sessionClaims) identitySession(providerID string) identity.Session {
	s := identity.Session{Provider: providerID, Sub: c.Sub, SID: c.SID, UserEntityRef: c.Ent}
	if c.Started != 0 {
		s.Started = time.UnixMicro(c.Started)
	}
	return s
}

// setSession writes the session cookie with the refresh cookie's path,
// attributes and lifetime. A failure to seal leaves the session without
// the cookie, which /refresh treats as a session started at time zero.
func (s *Server) setSession(h http.Header, r *http.Request, rt *envRuntime, c sessionClaims, origin string) {
	v, err := s.sessions.seal(rt.id, rt.env, c)
	if err != nil {
		s.log.LogAttrs(r.Context(), levelWarn, "could not seal the session cookie", providerAttr(rt), errorAttr(err))
		return
	}
	rt.jar.set(h, r, rt.jar.sessionName(), v, rt.jar.path, rt.jar.maxAge, origin)
}

// signedIn sets the session cookie at the callback: started now.
func (s *Server) signedIn(h http.Header, r *http.Request, rt *envRuntime, result *providers.Result, resp *authResponse, origin string) {
	s.setSession(h, r, rt, sessionOf(result, resp, s.opts.Now()), origin)
}
