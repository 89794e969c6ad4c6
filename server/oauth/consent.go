package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// sessionView is GET /v1/sessions/:id's answer, members in Backstage's
// order (spec §2.6); scope is omitted when the request had none.
type sessionView struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ClientName  string `json:"clientName"`
	Scope       string `json:"scope,omitempty"`
	RedirectURI string `json:"redirectUri"`
}

// getSession is GET /v1/sessions/:sessionId (spec §2.6), what the consent
// page shows. It needs no credentials, as in Backstage: the session id is
// the secret, and deciding needs a user token.
func (s *Server) getSession(c echo.Context) error {
	ctx := c.Request().Context()
	sess, err := s.pendingSession(ctx, c.Param("sessionId"))
	if err != nil {
		return s.writeError(c, err)
	}
	// The client again, without the redirect check: a CIMD document may
	// have changed (the fetcher's cache bounds how often it is fetched),
	// a registration may have lapsed or DCR/CIMD been turned off.
	client, err := s.resolveClient(ctx, sess.ClientID, "")
	if err != nil {
		return s.writeError(c, err)
	}
	v := sessionView{ID: sess.ID, ClientID: sess.ClientID, ClientName: client.name, RedirectURI: sess.RedirectURI}
	if sess.Scope != "" {
		// What will be granted, not what was asked: unknown scopes are
		// dropped at the token endpoint (spec §6.19), so showing them
		// would promise access never given and echo a client's text.
		v.Scope = s.cfg.grantedScope(sess.Scope)
	}
	return writeJSON(c, http.StatusOK, v, false)
}

// pendingSession is Backstage's getValidPendingSession (spec §2.6): the
// session, if it exists, is unexpired and still pending; else an OAuth
// 400 invalid_request with Backstage's message.
func (s *Server) pendingSession(ctx context.Context, id string) (identity.AuthSession, error) {
	sess, err := s.opts.Store.GetAuthSession(ctx, id)
	switch {
	case err != nil:
		return sess, sessionError(err)
	case !s.now().Before(sess.Expires):
		return sess, sessionError(identity.ErrAuthSessionExpired)
	case sess.Status != identity.AuthPending:
		return sess, sessionError(identity.ErrAuthSessionDecided)
	}
	return sess, nil
}

// sessionError turns a store's session error into Backstage's answer
// (spec §2.6–2.8); any other error stays internal.
func sessionError(err error) error {
	switch {
	case errors.Is(err, identity.ErrAuthSessionExpired):
		return invalidRequest("Authorization session expired")
	case errors.Is(err, identity.ErrAuthSessionDecided):
		return invalidRequest("Authorization session not found or expired")
	case autherr.IsNotFound(err):
		return invalidRequest("Invalid authorization session")
	}
	return err
}

// redirectAnswer is approve's and reject's answer (spec §2.7, §2.8).
type redirectAnswer struct {
	RedirectURL string `json:"redirectUrl"`
}

// approve is POST /v1/sessions/:sessionId/approve (spec §2.7): the signed-in
// user consents; the session is decided once (an atomic store update, so
// of concurrent approvals exactly one gets a code) and a code is issued.
func (s *Server) approve(c echo.Context) error {
	ctx := c.Request().Context()
	user, err := s.consentUser(c)
	var ae *autherr.Error
	if errors.As(err, &ae) && ae.Name == autherr.NameAuthentication {
		// OAuth-style with a Bearer challenge, not oauthError's Basic one.
		err = s.bearerError(ae.Message)
	}
	if err != nil {
		return s.writeError(c, err)
	}
	sess, err := s.opts.Store.ApproveAuthSession(ctx, c.Param("sessionId"), user, s.now())
	if err != nil {
		return s.writeError(c, sessionError(err))
	}
	code := newSecret()
	if err := s.opts.Store.CreateCode(ctx, identity.AuthCode{
		Hash: identity.HashSecret(code), SessionID: sess.ID, ClientID: sess.ClientID,
		RedirectURI: sess.RedirectURI, UserEntityRef: user, Expires: s.now().Add(CodeLifetime),
	}); err != nil {
		return s.writeError(c, err)
	}
	s.log.InfoContext(ctx, "authorization session approved",
		"session", sess.ID, "client_id", sess.ClientID, "user", user)
	u := s.authorizationResponse(sess.RedirectURI, true, sess.State, "code", code)
	// The answer carries a code: no cache may keep it.
	return writeJSON(c, http.StatusOK, redirectAnswer{u}, true)
}

// reject is POST /v1/sessions/:sessionId/reject (spec §2.8): the user
// declines; the client is sent an access_denied error response. As in
// Backstage, a token that fails verification is answered with the
// envelope (returned), every other error OAuth-style.
func (s *Server) reject(c echo.Context) error {
	ctx := c.Request().Context()
	user, err := s.consentUser(c)
	if err != nil {
		var oe *Error
		if !errors.As(err, &oe) {
			return err
		}
		return s.writeError(c, err)
	}
	sess, err := s.opts.Store.RejectAuthSession(ctx, c.Param("sessionId"), user, s.now())
	if err != nil {
		return s.writeError(c, sessionError(err))
	}
	s.log.InfoContext(ctx, "authorization session rejected",
		"session", sess.ID, "client_id", sess.ClientID, "user", user)
	u := s.authorizationResponse(sess.RedirectURI, false, sess.State,
		"error", CodeAccessDenied, "error_description", "User denied the request")
	return writeJSON(c, http.StatusOK, redirectAnswer{u}, true)
}

// errLimitedToken refuses a limited user token: it proves a cookie, not a
// user's deliberate consent through the app (Backstage's message).
var errLimitedToken = autherr.Authentication("Illegal limited user token")

// bearerRE is an Authorization header with a Bearer token (as the server
// package reads one).
var bearerRE = regexp.MustCompile(`(?i)^Bearer[ ]+(\S+)$`)

// consentUser is the user deciding a consent session, from a full user
// token in Authorization: Bearer only (no cookie, spec §2.7). No token or
// a token that is not a user's (a plugin or service token) is an *Error
// 403 access_denied. A limited user token (a cookie's, rebuilt) and a
// user token that fails verification are autherr Authentication errors,
// as Backstage's credentials() throws them: approve answers them
// OAuth-style (401 invalid_client), reject with the envelope (spec §2.8).
func (s *Server) consentUser(c echo.Context) (string, error) {
	m := bearerRE.FindStringSubmatch(c.Request().Header.Get("Authorization"))
	if m == nil {
		return "", newError(http.StatusForbidden, CodeAccessDenied, "Authentication required")
	}
	switch typ, ok := tokenType(m[1]); {
	case ok && typ == identity.TypeLimitedUser:
		return "", errLimitedToken
	case ok && typ != identity.TypeUser:
		// Not a user: Backstage's credentials() yields a service
		// principal here. Its token is not verified, as it could not
		// decide anything whatever it proves.
		return "", newError(http.StatusForbidden, CodeAccessDenied, "Authentication required")
	}
	v, err := s.opts.Tokens.VerifyUserToken(c.Request().Context(), m[1])
	if err != nil {
		return "", err
	}
	if v.Type != identity.TypeUser {
		return "", errLimitedToken
	}
	return v.Sub, nil
}

// tokenType is the typ of a compact JWS's protected header, read without
// verifying anything; ok is false when the header cannot be read (the
// verifier then says what is wrong).
func tokenType(token string) (typ string, ok bool) {
	head, _, found := strings.Cut(token, ".")
	if !found {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", false
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return "", false
	}
	return h.Typ, true
}

// bearerError is 401 invalid_client (Backstage's code) for a bad Bearer
// credential, with the Bearer challenge of RFC 6750 §3 (the consent
// routes take no Basic credentials).
func (s *Server) bearerError(description string) *Error {
	e := newError(http.StatusUnauthorized, CodeInvalidClient, description)
	e.Challenge = `Bearer realm="` + s.cfg.AuthBaseURL + `", error="invalid_token"`
	return e
}

// newSecret is 32 random bytes, base64url without padding (43
// characters): an authorization code (spec §4.2) or a refresh token's
// secret part (§4.3).
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authorizationResponse is the URL approve and reject send the browser to
// (spec §2.7, §2.8): redirectURI with pairs (name, value, …), then state
// when not empty, then iss=<A> (RFC 9207), form-encoded as WHATWG
// URLSearchParams does (space as "+"). keepQuery appends them to the
// redirect URI's query, kept verbatim, as approve does; otherwise they
// replace it, as reject does. A fragment is kept.
func (s *Server) authorizationResponse(redirectURI string, keepQuery bool, state string, pairs ...string) string {
	if state != "" {
		pairs = append(pairs, "state", state)
	}
	pairs = append(pairs, "iss", s.cfg.AuthBaseURL)
	rest, fragment, hasFragment := strings.Cut(redirectURI, "#")
	base, query, _ := strings.Cut(rest, "?")
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte('?')
	if keepQuery && query != "" {
		b.WriteString(query)
		b.WriteByte('&')
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(formEscape(pairs[i]) + "=" + formEscape(pairs[i+1]))
	}
	if hasFragment {
		b.WriteString("#" + fragment)
	}
	return b.String()
}

// whatwgForm turns url.QueryEscape's output into the WHATWG
// application/x-www-form-urlencoded serialisation URLSearchParams uses:
// the two differ only on "*" (kept) and "~" (escaped).
var whatwgForm = strings.NewReplacer("%2A", "*", "~", "%7E")

// formEscape form-encodes s as Backstage's URLSearchParams.append does.
func formEscape(s string) string { return whatwgForm.Replace(url.QueryEscape(s)) }
