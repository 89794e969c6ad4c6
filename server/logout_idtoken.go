package server

import (
	"crypto/cipher"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// idTokenCookieLabel is the HKDF info of the key that seals the
// <provider>-id-token cookie: its own purpose, so the cookie can never be
// opened as a transaction cookie or the other way round.
const idTokenCookieLabel = "gatehouse id-token cookie v1"

// idTokenSealer seals the latest ID token of a session into the
// <provider>-id-token cookie, for the id_token_hint of RP-initiated logout.
// Sealed, not just stored: an ID token carries personal claims, and the
// cookie is not the browser's to read or swap.
type idTokenSealer struct{ aead cipher.AEAD }

func newIDTokenSealer(secret string) (*idTokenSealer, error) {
	aead, err := sealbox.Derive(secret, idTokenCookieLabel)
	if err != nil {
		return nil, err
	}
	return &idTokenSealer{aead: aead}, nil
}

// additionalData binds a cookie to one provider id and env.
func idTokenAD(providerID, env string) []byte {
	return []byte("id-token\x00" + providerID + "\x00" + env)
}

// seal returns base64url(nonce || ciphertext) of idToken (sealCookie).
func (s *idTokenSealer) seal(providerID, env, idToken string) (string, error) {
	return sealCookie(s.aead, []byte(idToken), idTokenAD(providerID, env))
}

// open returns the ID token sealed in cookie, or false when the cookie is
// empty, malformed, tampered with, from another provider or env, or sealed
// under another auth.session.secret. A bad cookie only costs the hint.
func (s *idTokenSealer) open(providerID, env, cookie string) (string, bool) {
	if cookie == "" {
		return "", false
	}
	plain, err := openCookie(s.aead, cookie, idTokenAD(providerID, env))
	if err != nil {
		return "", false
	}
	return string(plain), true
}

// idTokenName is Gatehouse's own cookie: the sealed latest ID token.
func (j *cookieJar) idTokenName() string { return j.provider + "-id-token" }

// endSession reports whether logout asks the IdP to end its session
// (signOut.endSession, default on).
func (rt *envRuntime) endSession() bool { return !rt.SignOut.KeepIdPSession }

// storeIDToken keeps the latest ID token in the sealed <provider>-id-token
// cookie, chunked like the refresh cookie and with its life. It does
// nothing without an ID token (the cookie then keeps the previous one,
// which still names the session), when signOut.endSession is off, or for a
// provider without a LogoutHandler. A
// sealing failure loses only the hint, so it is logged, not returned.
func (s *Server) storeIDToken(h http.Header, r *http.Request, rt *envRuntime, idToken, origin string) {
	if idToken == "" || !rt.endSession() || s.idTokens == nil {
		return
	}
	if _, ok := rt.Provider.(providers.LogoutHandler); !ok {
		return // nobody would read it
	}
	sealed, err := s.idTokens.seal(rt.id, rt.env, idToken)
	if err != nil {
		s.log.LogAttrs(r.Context(), levelWarn, "sealing the ID token cookie failed", providerAttr(rt), errorAttr(err))
		return
	}
	rt.jar.set(h, r, rt.jar.idTokenName(), sealed, rt.jar.path, rt.jar.maxAge, origin)
}

// idTokenHint opens the <provider>-id-token cookie of the request; "" when
// there is none or it does not open.
func (s *Server) idTokenHint(r *http.Request, rt *envRuntime) string {
	if s.idTokens == nil {
		return ""
	}
	tok, _ := s.idTokens.open(rt.id, rt.env, rt.jar.get(r, rt.jar.idTokenName()))
	return tok
}
