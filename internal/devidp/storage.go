package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// authRequestLifetime bounds how long a user may take on the login form
	// and how long an authorization code stays redeemable after it.
	authRequestLifetime = 10 * time.Minute
	// refreshTokenLifetime is long enough for any dev session; VCF SSO does
	// not rotate refresh tokens, so one token serves a whole session (CSP
	// rotates them, each new one with a fresh lifetime).
	refreshTokenLifetime = 24 * time.Hour
	// ssoSessionLifetime bounds the browser's IdP session (the cookie).
	ssoSessionLifetime = 12 * time.Hour
)

// randomID returns a URL-safe random string with 256 bits of entropy, used
// for every identifier and token so none can be guessed.
func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ it panics
		// itself); keep the panic explicit rather than return a weak ID.
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authRequest is the stored form of an authorization request. The storage
// hands op copies (see snapshot) so that the login handler can complete a
// request while op reads another copy without a data race.
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	loginHint     string

	userID   string
	authTime time.Time
	done     bool
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.userID }
func (a *authRequest) Done() bool                            { return a.done }

// GetAMR reports password authentication once the user has logged in.
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

func (a *authRequest) snapshot() *authRequest {
	c := *a
	return &c
}

// accessToken is the server side of an opaque access token; op encrypts
// "id:subject" into the token the client sees.
type accessToken struct {
	id           string
	clientID     string
	subject      string
	audience     []string
	scopes       []string
	expiration   time.Time
	refreshToken string // the refresh token it was issued with, if any
}

// refreshToken is a refresh token; the token value is its own ID.
type refreshToken struct {
	token      string
	clientID   string
	subject    string
	audience   []string
	scopes     []string
	amr        []string
	authTime   time.Time
	expiration time.Time
}

// refreshTokenRequest is what op gets back for a refresh grant. It is a copy,
// so SetCurrentScopes (scope down-scoping) never alters the stored token.
type refreshTokenRequest struct {
	refreshToken
}

var _ op.RefreshTokenRequest = (*refreshTokenRequest)(nil)

func (r *refreshTokenRequest) GetAMR() []string            { return r.amr }
func (r *refreshTokenRequest) GetAudience() []string       { return r.audience }
func (r *refreshTokenRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshTokenRequest) GetClientID() string         { return r.clientID }
func (r *refreshTokenRequest) GetScopes() []string         { return r.scopes }
func (r *refreshTokenRequest) GetSubject() string          { return r.subject }
func (r *refreshTokenRequest) SetCurrentScopes(s []string) { r.scopes = s }

// ssoSession is a browser's login at the IdP, found by its cookie.
type ssoSession struct {
	id       string
	username string
	authTime time.Time
	expires  time.Time
}

// sessionCtxKey carries the caller's SSO session (if any) from the HTTP
// middleware into op's storage calls, which only get a context.
type sessionCtxKey struct{}

func withSession(ctx context.Context, s *ssoSession) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, s)
}

func sessionFrom(ctx context.Context) *ssoSession {
	s, _ := ctx.Value(sessionCtxKey{}).(*ssoSession)
	return s
}

// client is a registered confidential web client.
type client struct {
	id           string
	secret       string
	redirectURIs []string
	postLogout   []string
	postGlobs    []string
	loginURL     func(id string) string
	idTokenLife  time.Duration
	// authMethod is client_secret_basic at the VCF SSO instance and none
	// (a public client, PKCE required) at the CSP instance.
	authMethod oidc.AuthMethod
}

var _ op.HasRedirectGlobs = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogout }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is client_secret_basic at VCF SSO (op also accepts
// client_secret_post for it because the provider enables AuthMethodPost) and
// none at CSP, where the client is public: the CSP middleware checks the
// empty-secret Basic header before op sees the request.
func (c *client) AuthMethod() oidc.AuthMethod { return c.authMethod }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.idTokenLife }
func (c *client) DevMode() bool                        { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) RedirectURIGlobs() []string           { return nil }
func (c *client) PostLogoutRedirectURIGlobs() []string { return c.postGlobs }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IDTokenUserinfoClaimsAssertion is true because VCF SSO puts its user claims
// in the ID token even when an access token is issued, and clients rely on it.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// newClient registers c. Post-logout redirects are allowed to the redirect
// URIs and anywhere on their origins, since a dev app signs out to its own
// pages.
func newClient(c Client, loginURL func(string) string, idTokenLife time.Duration) (*client, error) {
	if c.ID == "" {
		return nil, errors.New("client ID required")
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("client %s: secret required", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return nil, fmt.Errorf("client %s: at least one redirect URI required", c.ID)
	}
	cl := &client{
		id:           c.ID,
		secret:       c.Secret,
		redirectURIs: slices.Clone(c.RedirectURIs),
		loginURL:     loginURL,
		idTokenLife:  idTokenLife,
		authMethod:   oidc.AuthMethodBasic,
	}
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("client %s: redirect URI %q is not an absolute http(s) URL", c.ID, ru)
		}
		origin := u.Scheme + "://" + u.Host
		cl.postLogout = append(cl.postLogout, ru, origin, origin+"/")
		cl.postGlobs = append(cl.postGlobs, globEscape(origin)+"/*")
	}
	return cl, nil
}

// globEscape quotes path.Match's special characters (an IPv6 host has '[').
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// publicClient is c as the CSP instance sees it: the same ID and redirect
// URIs, but public (auth method none) and logging in at loginURL.
func (c *client) publicClient(loginURL func(string) string) *client {
	cp := *c
	cp.secret = ""
	cp.authMethod = oidc.AuthMethodNone
	cp.loginURL = loginURL
	return &cp
}

// storage implements op.Storage in memory. One mutex guards all state: the
// IdP serves a handful of requests, so simplicity beats lock granularity.
//
// Each op instance (VCF SSO, CSP) has its own storage, so codes, tokens and
// SSO sessions of one are never valid at the other; the users map is shared
// and read-only.
type storage struct {
	users   map[string]User
	clients map[string]*client
	key     *rsa.PrivateKey
	kid     string

	// console switches the storage to VMware Cloud Services behaviour: CSP's ID
	// token claims (email, given_name, family_name, context_name) and
	// rotating refresh tokens. consoleOrg is the default context_name.
	console    bool
	consoleOrg string

	accessLife time.Duration

	mu            sync.Mutex
	authRequests  map[string]*authRequest
	codes         map[string]string // code -> auth request ID
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	revoked       map[string]bool // refresh tokens revoked at the revocation endpoint
	sessions      map[string]*ssoSession
	// onEndSession, when set, is called (without mu) with the user who
	// signed out at the end-session endpoint: back-channel logout.
	onEndSession func(ctx context.Context, username string)
}

// newStorage makes an empty storage for one op instance; the caller adds
// the clients.
func newStorage(users map[string]User, key *rsa.PrivateKey, kid string, accessLife time.Duration) *storage {
	return &storage{
		users:         users,
		clients:       make(map[string]*client),
		key:           key,
		kid:           kid,
		accessLife:    accessLife,
		authRequests:  make(map[string]*authRequest),
		codes:         make(map[string]string),
		accessTokens:  make(map[string]*accessToken),
		refreshTokens: make(map[string]*refreshToken),
		revoked:       make(map[string]bool),
		sessions:      make(map[string]*ssoSession),
	}
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// checkPassword reports whether username/password are a known account. The
// comparison is constant-time only as a matter of habit.
func (s *storage) checkPassword(username, password string) (User, bool) {
	u, ok := s.users[username]
	if !ok {
		return User{}, false
	}
	return u, subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
}

// gcLocked drops expired state so a long-running `gatehouse dev` does not
// grow without bound. s.mu must be held.
func (s *storage) gcLocked(now time.Time) {
	for id, r := range s.authRequests {
		if now.Sub(r.created) > authRequestLifetime {
			delete(s.authRequests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.authRequests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.accessTokens {
		if now.After(t.expiration) {
			delete(s.accessTokens, id)
		}
	}
	for id, t := range s.refreshTokens {
		if now.After(t.expiration) {
			delete(s.refreshTokens, id)
		}
	}
	for id, ss := range s.sessions {
		if now.After(ss.expires) {
			delete(s.sessions, id)
		}
	}
}

// CreateAuthRequest stores a validated authorization request. If the
// browser has a usable SSO session the request is completed at once, so the
// login page passes straight through; prompt=none without one fails with
// login_required, as the OIDC spec requires.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintedUser string) (op.AuthRequest, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(now)

	sess := s.usableSessionLocked(ctx, now, req, hintedUser)
	if slices.Contains(req.Prompt, oidc.PromptNone) && sess == nil {
		return nil, oidc.ErrLoginRequired().WithDescription("no active session at the IdP")
	}
	r := &authRequest{
		id:           randomID(),
		created:      now,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone(req.Scopes),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		loginHint:    req.LoginHint,
	}
	if req.CodeChallenge != "" {
		// Pass the method through so op refuses anything but S256/plain
		// rather than treat an unknown method as plain.
		r.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	if sess != nil {
		r.userID, r.authTime, r.done = sess.username, sess.authTime, true
	}
	s.authRequests[r.id] = r
	return r.snapshot(), nil
}

// usableSessionLocked returns the caller's SSO session if it may satisfy req
// without a login: not for prompt=login (op turns it into max_age=0), not if
// older than max_age, and not for a different user than id_token_hint names.
func (s *storage) usableSessionLocked(ctx context.Context, now time.Time, req *oidc.AuthRequest, hintedUser string) *ssoSession {
	cs := sessionFrom(ctx)
	if cs == nil {
		return nil
	}
	sess, ok := s.sessions[cs.id]
	if !ok || now.After(sess.expires) {
		return nil
	}
	if _, ok := s.users[sess.username]; !ok {
		return nil
	}
	if slices.Contains(req.Prompt, oidc.PromptLogin) {
		return nil
	}
	if req.MaxAge != nil && now.Sub(sess.authTime) > time.Duration(*req.MaxAge)*time.Second {
		return nil
	}
	if hintedUser != "" && hintedUser != sess.username {
		return nil
	}
	c := *sess
	return &c
}

// AuthRequestByID returns a copy of the request (see authRequest).
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok || time.Since(r.created) > authRequestLifetime {
		return nil, errors.New("authorization request not found or expired")
	}
	return r.snapshot(), nil
}

// authRequestByID is AuthRequestByID with the concrete type, for the login UI.
func (s *storage) authRequestByID(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok || time.Since(r.created) > authRequestLifetime {
		return nil, false
	}
	return r.snapshot(), true
}

// completeLogin marks the request as authenticated by username and starts an
// SSO session for the browser, returning the session ID for its cookie.
func (s *storage) completeLogin(id, username string) (string, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok {
		return "", errors.New("authorization request not found or expired")
	}
	r.userID, r.authTime, r.done = username, now, true
	sess := &ssoSession{id: randomID(), username: username, authTime: now, expires: now.Add(ssoSessionLifetime)}
	s.sessions[sess.id] = sess
	return sess.id, nil
}

// session returns the live SSO session with that ID.
func (s *storage) session(id string) (*ssoSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || time.Now().After(sess.expires) {
		return nil, false
	}
	c := *sess
	return &c, true
}

// AuthRequestByCode returns the request an authorization code was issued for.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("code invalid or already used")
	}
	r, ok := s.authRequests[id]
	if !ok || time.Since(r.created) > authRequestLifetime {
		return nil, errors.New("code expired")
	}
	return r.snapshot(), nil
}

// SaveAuthCode links an issued code to its request.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authRequests[id]; !ok {
		return errors.New("authorization request not found")
	}
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest drops the request and its code; op calls it once the
// code is redeemed, which makes codes single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func clientIDOf(req op.TokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.clientID
	case interface{ GetClientID() string }:
		return r.GetClientID()
	}
	return ""
}

func (s *storage) newAccessTokenLocked(req op.TokenRequest, refresh string) *accessToken {
	t := &accessToken{
		id:           randomID(),
		clientID:     clientIDOf(req),
		subject:      req.GetSubject(),
		audience:     slices.Clone(req.GetAudience()),
		scopes:       slices.Clone(req.GetScopes()),
		expiration:   time.Now().Add(s.accessLife),
		refreshToken: refresh,
	}
	s.accessTokens[t.id] = t
	return t
}

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccessTokenLocked(req, "")
	return t.id, t.expiration, nil
}

// CreateAccessAndRefreshTokens issues an access token and, for a code grant
// with offline_access, a new refresh token. On a refresh grant VCF SSO
// returns the same refresh token (no rotation), after checking again that
// it was not revoked while op was processing the request; CSP rotates: the
// current token is consumed and a new one with the same grant is returned,
// so replaying the old one fails with invalid_grant.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var amr []string
	var authTime time.Time
	if current != "" {
		rt, ok := s.refreshTokens[current]
		if !ok || s.revoked[current] || now.After(rt.expiration) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token revoked or expired")
		}
		if !s.console {
			t := s.newAccessTokenLocked(req, current)
			return t.id, current, t.expiration, nil
		}
		// Rotation: the old token stops working now. Access tokens issued
		// with it stay valid until they expire.
		delete(s.refreshTokens, current)
		amr, authTime = rt.amr, rt.authTime
	} else if r, ok := req.(*authRequest); ok {
		amr, authTime = r.GetAMR(), r.authTime
	}
	rt := &refreshToken{
		token:      randomID(),
		clientID:   clientIDOf(req),
		subject:    req.GetSubject(),
		audience:   slices.Clone(req.GetAudience()),
		scopes:     slices.Clone(req.GetScopes()),
		amr:        amr,
		authTime:   authTime,
		expiration: now.Add(refreshTokenLifetime),
	}
	s.refreshTokens[rt.token] = rt
	t := s.newAccessTokenLocked(req, rt.token)
	return t.id, rt.token, t.expiration, nil
}

// TokenRequestByRefreshToken refuses revoked, expired and unknown refresh
// tokens; op answers invalid_grant for any error from here.
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked[token] {
		return nil, errors.New("refresh token revoked")
	}
	rt, ok := s.refreshTokens[token]
	if !ok || time.Now().After(rt.expiration) {
		return nil, errors.New("refresh token unknown or expired")
	}
	if _, ok := s.users[rt.subject]; !ok {
		return nil, errors.New("user no longer exists")
	}
	c := *rt
	c.scopes = slices.Clone(rt.scopes)
	return &refreshTokenRequest{c}, nil
}

// TerminateSession is kept for op.Storage; TerminateSessionFromRequest is
// what op calls.
func (s *storage) TerminateSession(_ context.Context, userID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endSessionsLocked(userID, "")
	return nil
}

// TerminateSessionFromRequest ends the browser's SSO session (and any other
// session of the user named by id_token_hint), so the next authorization
// asks for a password again. Tokens stay valid: revoking them is the
// client's job at the revocation endpoint.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	s.mu.Lock()
	var sid string
	user := req.UserID
	if cs := sessionFrom(ctx); cs != nil {
		sid = cs.id
		if user == "" {
			user = cs.username
		}
	}
	s.endSessionsLocked(req.UserID, sid)
	hook := s.onEndSession
	s.mu.Unlock()
	if hook != nil {
		hook(ctx, user)
	}
	return req.RedirectURI, nil
}

func (s *storage) endSessionsLocked(userID, sessionID string) {
	if sessionID != "" {
		delete(s.sessions, sessionID)
	}
	if userID == "" {
		return
	}
	for id, ss := range s.sessions {
		if ss.username == userID {
			delete(s.sessions, id)
		}
	}
}

// RevokeToken revokes an access token (by ID) or a refresh token (by value,
// which is also its ID), per RFC 7009. Revoking a refresh token also revokes
// the access tokens issued with it. Unknown tokens are not an error.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.accessTokens[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.accessTokens, tokenOrID)
		return nil
	}
	rt, ok := s.refreshTokens[tokenOrID]
	if !ok {
		return nil
	}
	if rt.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.refreshTokens, tokenOrID)
	s.revoked[tokenOrID] = true
	for id, t := range s.accessTokens {
		if t.refreshToken == tokenOrID {
			delete(s.accessTokens, id)
		}
	}
	return nil
}

// GetRefreshTokenInfo identifies live refresh tokens for the revocation
// endpoint; anything else is op.ErrInvalidRefreshToken so op tries it as an
// access token.
func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.subject, rt.token, nil
}

// signingKey and publicKey adapt the RSA key to op's key interfaces.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.kid }

type publicKey struct {
	kid string
	key *rsa.PublicKey
}

func (k *publicKey) ID() string                         { return k.kid }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return &signingKey{kid: s.kid, key: s.key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{kid: s.kid, key: &s.key.PublicKey}}, nil
}

// GetClientByClientID returns a plain error for unknown clients, which op
// turns into invalid_client rather than server_error.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("unknown client %q", id)
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client's secret, wherever op read it from
// (Basic header or form body). Public clients (CSP) have no secret, so no
// secret authenticates them here; the CSP middleware does that.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || c.secret == "" || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return errors.New("invalid client credentials")
	}
	return nil
}

// setUserinfo fills VCF SSO's claims: sub, user_name, acct, name. There is
// deliberately no email claim, whatever the scopes, because VCF SSO sends
// none and clients must cope with that. The CSP instance fills CSP's claims
// instead (see setConsoleUserinfo).
func (s *storage) setUserinfo(info *oidc.UserInfo, username string) error {
	u, ok := s.users[username]
	if !ok {
		return fmt.Errorf("unknown user %q", username)
	}
	if s.console {
		setConsoleUserinfo(info, u, s.consoleOrg)
		return nil
	}
	info.Subject = u.Username
	info.Name = u.Name
	if info.Name == "" {
		info.Name = u.Username
	}
	info.AppendClaims("user_name", u.Username)
	info.AppendClaims("acct", u.Acct)
	return nil
}

// SetUserinfoFromScopes fills the ID token claims (op calls it, then
// SetUserinfoFromRequest, when building an ID token).
func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	return s.setUserinfo(info, userID)
}

// SetUserinfoFromRequest fills the ID token claims for code and refresh grants.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	return s.setUserinfo(info, req.GetSubject())
}

// liveAccessToken returns the access token if it is still valid for subject.
func (s *storage) liveAccessToken(id, subject string) (*accessToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.accessTokens[id]
	if !ok || t.subject != subject || time.Now().After(t.expiration) {
		return nil, false
	}
	c := *t
	return &c, true
}

// SetUserinfoFromToken answers the userinfo endpoint; revoked or expired
// access tokens are refused.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	if _, ok := s.liveAccessToken(tokenID, subject); !ok {
		return errors.New("access token invalid, expired or revoked")
	}
	return s.setUserinfo(info, subject)
}

// SetIntrospectionFromToken answers the introspection endpoint for live
// access tokens; anything else stays inactive.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	t, ok := s.liveAccessToken(tokenID, subject)
	if !ok {
		return errors.New("access token invalid, expired or revoked")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, subject); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active = true
	resp.ClientID = t.clientID
	resp.Audience = t.audience
	resp.Scope = t.scopes
	resp.Expiration = oidc.FromTime(t.expiration)
	return nil
}

// GetPrivateClaimsFromScopes adds the VCF SSO claims to JWT access tokens,
// should a client ever be switched to them.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	u, ok := s.users[userID]
	if !ok {
		return nil, nil
	}
	if s.console {
		return map[string]any{"acct": u.Acct, "context_name": u.consoleOrg(s.consoleOrg)}, nil
	}
	return map[string]any{"user_name": u.Username, "acct": u.Acct}, nil
}

// GetKeyByIDAndClientID: the JWT profile grant is not offered.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile is not supported by the dev IdP")
}

// ValidateJWTProfileScopes: the JWT profile grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not supported by the dev IdP")
}

func (s *storage) Health(context.Context) error { return nil }
