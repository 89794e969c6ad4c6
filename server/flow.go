package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// authResponse is the body of /refresh and the popup's response, shaped as
// auth-node's ClientAuthResponse.
type authResponse struct {
	Profile           providers.Profile  `json:"profile"`
	ProviderInfo      providerInfo       `json:"providerInfo"`
	BackstageIdentity *backstageIdentity `json:"backstageIdentity,omitempty"`
	// entityRef is the resolved user entity, for the session cookie.
	entityRef string
}

type providerInfo struct {
	IDToken          string `json:"idToken,omitempty"`
	AccessToken      string `json:"accessToken,omitempty"`
	Scope            string `json:"scope"`
	ExpiresInSeconds *int64 `json:"expiresInSeconds,omitempty"`
}

type backstageIdentity struct {
	Token            string `json:"token"`
	Identity         any    `json:"identity"`
	ExpiresInSeconds int64  `json:"expiresInSeconds"`
}

// start is GET /:provider/start, as auth-node's createOAuthRouteHandlers
// answers it.
func (s *Server) start(c echo.Context, rt *envRuntime) error {
	r := c.Request()
	q := r.URL.Query()
	var origin string
	if o := q.Get("origin"); o != "" {
		parsed, ok := parseOrigin(o)
		if !ok {
			return autherr.Input("App origin is invalid, failed to parse")
		}
		if !s.origins.allowed(parsed) {
			return autherr.NotAllowed("Origin '%s' is not allowed", parsed)
		}
		origin = parsed
	}
	// A redirectUrl the redirect flow could not go back to is refused
	// here, before the IdP round trip; the callback checks it again, as
	// the state it gets back may be anyone's.
	if ru := q.Get("redirectUrl"); ru != "" {
		if _, err := s.origins.redirectTarget(ru); err != nil {
			return err
		}
	}
	nonce, err := randomNonce()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	rt.jar.setNonce(h, r, nonce, origin)

	var granted []string
	if rt.scopes.Persist {
		granted = providers.SplitScopes(rt.jar.get(r, rt.jar.grantedScopeName()))
	}
	scope := joinScopes(providers.SplitScopes(q.Get("scope")), granted, rt.scopes.Required, rt.AdditionalScopes)
	st := oauthState{Nonce: nonce, Env: rt.env, Origin: origin, RedirectURL: q.Get("redirectUrl"), Flow: q.Get("flow")}
	if rt.scopes.Persist {
		st.Scope = scope
	}
	var txn providers.Transaction
	location, err := rt.Provider.AuthorizationURL(r.Context(), providers.StartRequest{State: encodeState(st), Scope: scope, Transaction: &txn})
	if err != nil {
		return err
	}
	sealedTxn, err := s.seal.seal(rt.id, rt.env, nonce, txn)
	if err != nil {
		return err
	}
	rt.jar.setTransaction(h, r, sealedTxn, origin)
	h.Set("Location", location)
	h.Set("Content-Length", "0")
	c.Response().WriteHeader(http.StatusFound)
	return nil
}

// frame is GET|POST /:provider/handler/frame, as auth-node's
// createOAuthRouteHandlers answers it. A failure is delivered to the app:
// as a postMessage error to the state's origin once
// that is allowed, or as ?error= on the redirect URL in the redirect flow
// once that is allowed. A redirect URL that is not allowed gets the JSON
// envelope and no redirect; an origin that is not allowed gets a page that
// shows the error and posts nothing. Users see publicError, never a stack
// or internal detail; the log line has the detail.
func (s *Server) frame(c echo.Context, rt *envRuntime) error {
	r := c.Request()
	var (
		st     oauthState
		origin string   // where the popup posts: "" until checked
		target *url.URL // the redirect flow's checked redirectUrl
		err    error
	)
	raw, err := stateParam(r)
	if err == nil {
		st, err = decodeState(raw)
	}
	refusedRedirect := false
	if err == nil && st.RedirectURL != "" {
		target, err = s.origins.redirectTarget(st.RedirectURL)
		refusedRedirect = err != nil
	}
	if err == nil {
		origin, err = s.stateOrigin(st)
	}
	if err == nil {
		err = s.frameAuthenticate(c, rt, st, origin, target)
	}
	result := resultOf(err)
	s.opts.Metrics.SignIn(rt.id, result)
	if err == nil {
		return nil
	}
	s.log.LogAttrs(r.Context(), levelFor(err), "sign-in failed",
		providerAttr(rt), stringAttr("result", result), errorAttr(err))
	if refusedRedirect {
		return loggedError{err}
	}
	se := publicError(err, requestid.FromContext(r.Context()))
	if st.Flow == "redirect" && target != nil {
		u := *target
		q := u.Query()
		q.Set("error", se.Message)
		u.RawQuery = q.Encode()
		return c.Redirect(http.StatusFound, u.String())
	}
	writePopup(c.Response(), webMessage{Type: "authorization_response", Error: se}, origin)
	return nil
}

// stateOrigin is the app origin the popup posts to: the state's, once it
// parses and is allowed, else app.baseUrl's when the state names none.
func (s *Server) stateOrigin(st oauthState) (string, error) {
	if st.Origin == "" {
		return s.origins.appOrigin, nil
	}
	parsed, ok := parseOrigin(st.Origin)
	if !ok {
		return "", autherr.NotAllowed("App origin is invalid, failed to parse")
	}
	if !s.origins.allowed(parsed) {
		return "", autherr.NotAllowed("Origin '%s' is not allowed", parsed)
	}
	return parsed, nil
}

// frameAuthenticate runs the remaining checks and the sign-in, and answers
// on success. origin and target have been checked by frame.
func (s *Server) frameAuthenticate(c echo.Context, rt *envRuntime, st oauthState, origin string, target *url.URL) error {
	r := c.Request()
	h := c.Response().Header()
	cookieNonce := rt.jar.get(r, rt.jar.nonceName())
	if cookieNonce == "" {
		return autherr.NotAllowed("Auth response is missing cookie nonce")
	}
	if cookieNonce != st.Nonce {
		return autherr.NotAllowed("Invalid nonce")
	}
	txn, err := s.seal.open(rt.id, rt.env, st.Nonce, rt.jar.get(r, rt.jar.transactionName()))
	if err != nil {
		return err
	}
	// The transaction is single-use: clear it whatever happens next.
	rt.jar.clearTransaction(h, origin)

	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			params = r.PostForm
		}
	}
	result, err := rt.Provider.Authenticate(r.Context(), providers.CallbackRequest{Params: params, Transaction: txn})
	if err != nil {
		return atStage(stageIdP, err)
	}
	resp, err := s.signIn(c, rt, result, outcomeSignedIn)
	if err != nil {
		return err
	}
	if rt.scopes.Persist {
		if st.Scope == "" {
			return autherr.Authentication("No scope found in OAuth state")
		}
		resp.ProviderInfo.Scope = st.Scope
		rt.jar.setGrantedScope(h, r, st.Scope, origin)
	}
	if result.Session.RefreshToken != "" {
		rt.jar.setRefreshToken(h, r, result.Session.RefreshToken, origin)
	}
	s.storeIDToken(h, r, rt, result.Session.IDToken, origin)
	s.signedIn(h, r, rt, result, resp, origin)
	if st.Flow == "redirect" {
		if target == nil {
			return autherr.Input("No redirectUrl provided in request query parameters")
		}
		return c.Redirect(http.StatusFound, target.String())
	}
	writePopup(c.Response(), webMessage{Type: "authorization_response", Response: resp}, origin)
	return nil
}

// The log lines of a successful sign-in: one per outcome.
const (
	outcomeSignedIn  = "signed in" // at the callback
	outcomeRefreshed = "refreshed" // a session refresh
)

// signIn runs transforms, the resolver chain and token issuance, and logs
// outcome when they succeed.
func (s *Server) signIn(c echo.Context, rt *envRuntime, result *providers.Result, outcome string) (*authResponse, error) {
	ctx := c.Request().Context()
	profile, err := timed(s, rt.id, metrics.StepTransforms, func() (providers.Profile, error) {
		return rt.Transforms.Apply(ctx, rt.id, result)
	})
	if err != nil {
		return nil, atStage(stageTransform, err)
	}
	resp := &authResponse{
		Profile: profile,
		ProviderInfo: providerInfo{
			IDToken:     result.Session.IDToken,
			AccessToken: result.Session.AccessToken,
			Scope:       strings.Join(providers.SplitScopes(result.Session.Scope), " "),
		},
	}
	if result.Session.ExpiresInSeconds > 0 {
		v := result.Session.ExpiresInSeconds
		resp.ProviderInfo.ExpiresInSeconds = &v
	}
	if rt.Resolver == nil {
		return resp, nil
	}
	res, err := timed(s, rt.id, metrics.StepResolve, func() (*resolvers.SignInResult, error) {
		return rt.Resolver.Resolve(ctx, resolvers.SignInInput{ProviderID: rt.id, Profile: profile, Result: result})
	})
	if err != nil {
		return nil, atStage(stageResolve, err)
	}
	tok, err := timed(s, rt.id, metrics.StepTokenSigning, func() (*identity.IssuedToken, error) {
		return s.opts.Tokens.IssueToken(ctx, identityClaims(res))
	})
	if err != nil {
		return nil, atStage(stageToken, err)
	}
	s.log.LogAttrs(ctx, levelInfo, outcome, providerAttr(rt),
		stringAttr("resolver", res.Resolver), stringAttr("entityRef", res.UserEntityRef))
	resp.entityRef = res.UserEntityRef
	resp.BackstageIdentity = &backstageIdentity{
		Token:            tok.Token,
		Identity:         tok.Identity,
		ExpiresInSeconds: int64(math.Round(tok.ExpiresAt.Sub(s.opts.Now()).Seconds())),
	}
	return resp, nil
}

// refresh is GET|POST /:provider/refresh, as auth-node's
// createOAuthRouteHandlers answers it. Any failure after the
// header check is an AuthenticationError "Refresh failed" with its cause.
func (s *Server) refresh(c echo.Context, rt *envRuntime) error {
	r := c.Request()
	if r.Header.Get("X-Requested-With") != "XMLHttpRequest" {
		return autherr.Authentication("Invalid X-Requested-With header")
	}
	resp, err := s.doRefresh(c, rt)
	result := resultOf(err)
	s.opts.Metrics.Refresh(rt.id, result)
	if err != nil {
		s.log.LogAttrs(r.Context(), levelFor(err), "refresh failed", providerAttr(rt),
			stringAttr("result", result), errorAttr(err))
		return loggedError{autherr.Wrap(autherr.NameAuthentication, "Refresh failed", err)}
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Type", "application/json; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write(body)
	return nil
}

func (s *Server) doRefresh(c echo.Context, rt *envRuntime) (*authResponse, error) {
	r := c.Request()
	h := c.Response().Header()
	refresher, ok := rt.Provider.(providers.Refresher)
	if !ok {
		return nil, autherr.Wrap(autherr.NameNotImplemented, "Refresh is not supported by this provider", nil)
	}
	refreshToken := rt.jar.get(r, rt.jar.refreshName())
	if refreshToken == "" {
		return nil, autherr.Input("Missing session cookie")
	}
	session, sealedSession, err := s.refuseEndedSession(c, rt)
	if err != nil {
		return nil, err
	}
	var granted []string
	if rt.scopes.Persist {
		granted = providers.SplitScopes(rt.jar.get(r, rt.jar.grantedScopeName()))
	}
	scope := joinScopes(providers.SplitScopes(r.URL.Query().Get("scope")), granted, rt.scopes.Required, rt.AdditionalScopes)
	// Concurrent refreshes of one token share one IdP call (refresh.go).
	result, err := s.refreshes.refresh(r.Context(), rt, refresher, providers.RefreshRequest{RefreshToken: refreshToken, Scope: scope})
	if err != nil {
		return nil, err
	}
	// The IdP has answered: a rotated refresh token replaced the one in the
	// cookie, which is now spent. Set the cookies before anything else can
	// fail (transforms, resolvers, the catalog, the user info store), as
	// Backstage does, so that the error envelope carries them and the
	// session survives the fault.
	origin := r.Header.Get("Origin")
	if rt.scopes.Persist {
		rt.jar.setGrantedScope(h, r, scope, origin)
	}
	if rt.RefreshTokenRotated(result, refreshToken) {
		rt.jar.setRefreshToken(h, r, result.Session.RefreshToken, origin)
		// The session cookie is set again, unchanged, so that it lives as
		// long as the refresh cookie: a session that outlived its first
		// cookie would otherwise read as started at time zero.
		if sealedSession {
			s.setSession(h, r, rt, session, origin)
		}
	}
	s.storeIDToken(h, r, rt, result.Session.IDToken, origin)
	resp, err := s.signIn(c, rt, result, outcomeRefreshed)
	if err != nil {
		return nil, err
	}
	if !sealedSession {
		if err := s.checkUnsealedSession(c, rt, result, resp); err != nil {
			return nil, err
		}
	}
	if rt.scopes.Persist {
		resp.ProviderInfo.Scope = scope
	}
	return resp, nil
}

// RefreshTokenRotated reports whether the IdP sent a new refresh token.
func (rt *envRuntime) RefreshTokenRotated(result *providers.Result, old string) bool {
	return result.Session.RefreshToken != "" && result.Session.RefreshToken != old
}

// logout is POST /:provider/logout, as auth-node's createOAuthRouteHandlers
// answers it.
func (s *Server) logout(c echo.Context, rt *envRuntime) error {
	r := c.Request()
	if r.Header.Get("X-Requested-With") != "XMLHttpRequest" {
		return autherr.Authentication("Invalid X-Requested-With header")
	}
	origin := r.Header.Get("Origin")
	if origin != "" && !s.origins.allowed(origin) {
		return autherr.NotAllowed("Origin '%s' is not allowed", origin)
	}
	var logoutURL string
	if lh, ok := rt.Provider.(providers.LogoutHandler); ok {
		if req, ok := s.logoutRequest(r, rt); ok {
			u, err := lh.Logout(r.Context(), req)
			if err != nil {
				// Backstage answers 500 here (backstage#28940); the user
				// asked to sign out, so Gatehouse clears the cookies anyway.
				s.log.LogAttrs(r.Context(), levelWarn, "logout at the IdP failed", providerAttr(rt), errorAttr(err))
			}
			logoutURL = u
		}
	}
	h := c.Response().Header()
	rt.jar.remove(h, r, rt.jar.refreshName(), rt.jar.path, origin)
	rt.jar.remove(h, r, rt.jar.idTokenName(), rt.jar.path, origin)
	if rt.jar.get(r, rt.jar.sessionName()) != "" {
		rt.jar.remove(h, r, rt.jar.sessionName(), rt.jar.path, origin)
	}
	if rt.scopes.Persist {
		rt.jar.remove(h, r, rt.jar.grantedScopeName(), rt.jar.path, origin)
	}
	if u, err := url.Parse(logoutURL); logoutURL != "" && err == nil && (u.Scheme == "https" || u.Hostname() == "localhost") {
		return c.JSON(http.StatusOK, map[string]string{"logoutUrl": logoutURL})
	}
	c.Response().WriteHeader(http.StatusOK)
	return nil
}

// joinScopes is Backstage's default scope transform: requested, granted,
// required, additional, de-duplicated in insertion order.
func joinScopes(lists ...[]string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, " ")
}

// randomNonce is randomBytes(16).toString('base64'), as Backstage makes it.
func randomNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errors.New("could not read random bytes for the nonce")
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}
