package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// tokenState is what /v1/token, /v1/revoke and /v1/register keep
// (token.go, refresh.go, revoke.go, register.go).
type tokenState struct {
	// cimdIDs admits public client_ids without fetching (revocation, and
	// a client_id named at /v1/token).
	cimdIDs *cimd.Allowlist
	// dcrRedirects is the allowlist of registered redirect URIs.
	dcrRedirects *cimd.Allowlist
	// clientIdle is how long a DCR registration lives unused.
	clientIdle time.Duration
	// fetcher reads a CIMD client's grant_types at the code exchange.
	fetcher   ClientFetcher
	grace     refreshGrace
	registers *addressLimiter
}

func (t *tokenState) init(s *Server) error {
	var err error
	if t.cimdIDs, err = cimd.CompileAllowlist(s.cfg.CIMD.ClientIDPatterns); err != nil {
		return errors.New("oauth: client ID metadata document allowlist: " + err.Error())
	}
	if t.dcrRedirects, err = cimd.CompileAllowlist(s.cfg.DCR.RedirectURIPatterns); err != nil {
		return errors.New("oauth: dynamic client registration redirect URI allowlist: " + err.Error())
	}
	t.clientIdle = max(DefaultClientIdleLifetime, s.cfg.Refresh.IdleLifetime)
	if t.fetcher = s.opts.Fetcher; t.fetcher == nil {
		// Options.Fetcher's documented default; the gateway passes the
		// one fetcher (and cache) /v1/authorize uses.
		t.fetcher = cimd.NewFetcher(cimd.FetcherOptions{})
	}
	if err := t.grace.init(s.opts); err != nil {
		return err
	}
	rate := s.opts.RegisterRate
	if rate <= 0 {
		rate = DefaultRegisterRate
	}
	t.registers = newAddressLimiter(rate, time.Minute)
	return nil
}

// Grant types /v1/token serves.
const (
	grantAuthorizationCode = cimd.GrantAuthorizationCode
	grantRefreshToken      = cimd.GrantRefreshToken
)

// token is POST /v1/token (spec §2.9).
func (s *Server) token(c echo.Context) error {
	p, err := bodyParams(c)
	if err != nil {
		return err
	}
	grant := p.str("grant_type", true, true)
	p.str("client_id", false, false) // type-checked as Backstage's schema does
	p.str("client_secret", false, false)
	if err := p.err(); err != nil {
		return s.writeError(c, err)
	}
	switch grant {
	case grantAuthorizationCode:
		err = s.exchangeCode(c, p)
	case grantRefreshToken:
		err = s.refreshGrant(c, p)
	default:
		err = newError(http.StatusBadRequest, CodeUnsupportedGrantType, "Grant type "+grant+" is not supported")
	}
	if err != nil {
		return s.writeError(c, err)
	}
	return nil
}

// tokenAnswer is /v1/token's 200 body; Backstage's member order, the
// authorization_code grant with id_token and scope, the refresh grant
// without (spec §2.9.1 step 12, §2.9.2 step 12).
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// accessToken mints an access token for sub; resource, when set, joins
// "backstage" in its audience (RFC 8707). expires_in is the token's real
// lifetime (spec §6.13).
func (s *Server) accessToken(ctx context.Context, sub, resource string) (tokenAnswer, error) {
	var aud []string
	if resource != "" {
		aud = []string{"backstage", resource}
	}
	tok, err := s.opts.Tokens.IssueAccessToken(ctx, sub, aud)
	if err != nil {
		return tokenAnswer{}, err
	}
	return tokenAnswer{AccessToken: tok.Token, TokenType: "Bearer", ExpiresIn: int(s.opts.Tokens.Expiration().Seconds())}, nil
}

// codeVerifierSyntax is RFC 7636 §4.1's code_verifier.
var codeVerifierSyntax = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// exchangeCode is the authorization_code grant (spec §2.9.1), with client
// binding, a checked verifier, single use and replay revocation.
//
// The code is redeemed (marked used, atomically) BEFORE the checks that
// follow, so a request whose redirect_uri or code_verifier is wrong burns
// the code. RFC 6749 §4.1.2 makes a code single-use, and a failed PKCE
// check means the presenter is probably not the client the code was
// issued to: Backstage leaves such a code retryable for its 10 minutes,
// which lets a thief keep trying; the legitimate client never fails these
// checks, so burning costs it nothing. It also keeps the redemption one
// conditional write (no read-check-write race between replicas).
func (s *Server) exchangeCode(c echo.Context, p *params) error {
	ctx := c.Request().Context()
	code := p.str("code", false, false)
	redirectURI := p.url("redirect_uri", false)
	verifier := p.str("code_verifier", false, false)
	if err := p.err(); err != nil {
		return err
	}
	if code == "" || redirectURI == "" {
		return invalidRequest("Missing code or redirect_uri parameters for authorization_code grant")
	}
	resource, err := resourceParam(p)
	if err != nil {
		return err
	}
	who, err := s.authenticate(ctx, credentials(c, p))
	if err != nil {
		return err
	}
	ac, err := s.opts.Store.RedeemCode(ctx, identity.HashSecret(code), s.now())
	switch {
	case errors.Is(err, identity.ErrCodeReplayed):
		s.codeReplayed(ctx, ac)
		return invalidGrant("Authorization code already used")
	case errors.Is(err, identity.ErrCodeExpired):
		return invalidGrant("Authorization code expired")
	case autherr.IsNotFound(err):
		return invalidGrant("Invalid authorization code")
	case err != nil:
		return err
	}
	sess, err := s.opts.Store.GetAuthSession(ctx, ac.SessionID)
	if autherr.IsNotFound(err) {
		return invalidRequest("Invalid authorization session")
	} else if err != nil {
		return err
	}
	if err := s.bindClient(ctx, who, ac.ClientID, invalidGrant("Authorization code was not issued to this client")); err != nil {
		return err
	}
	if err := s.checkCodeSession(sess, ac, redirectURI, verifier); err != nil {
		return err
	}
	ans, err := s.codeTokens(ctx, sess, ac, resource)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ans, true)
}

// codeTokens is the code exchange's answer: an access token (audience
// ["backstage", resource] when the request or the authorization names a
// resource; both must agree), the same JWT as id_token, the granted scope,
// and a refresh token when offline_access is granted and the client may
// use the refresh_token grant.
func (s *Server) codeTokens(ctx context.Context, sess identity.AuthSession, ac identity.AuthCode, resource string) (tokenAnswer, error) {
	resource, err := matchResource(resource, sess.Resource)
	if err != nil {
		return tokenAnswer{}, err
	}
	ans, err := s.accessToken(ctx, ac.UserEntityRef, resource)
	if err != nil {
		return ans, err
	}
	ans.IDToken = ans.AccessToken // Backstage compatibility (spec §4.1)
	ans.Scope = s.cfg.grantedScope(sess.Scope)
	if hasScope(ans.Scope, ScopeOfflineAccess) && s.mayRefresh(ctx, ac.ClientID) {
		ans.RefreshToken = s.issueRefreshToken(ctx, identity.RefreshSession{UserEntityRef: ac.UserEntityRef, ClientID: ac.ClientID, Scope: ans.Scope, Resource: resource})
	}
	return ans, nil
}

// checkCodeSession is spec §2.9.1 steps 6–8 against the redeemed code's
// session, with the verifier checked as RFC 7636 says.
func (s *Server) checkCodeSession(sess identity.AuthSession, ac identity.AuthCode, redirectURI, verifier string) error {
	if redirectURI != sess.RedirectURI || redirectURI != ac.RedirectURI {
		return invalidGrant("Redirect URI mismatch")
	}
	if sess.Status != identity.AuthApproved {
		return invalidGrant("Authorization not approved")
	}
	if sess.UserEntityRef == "" || ac.UserEntityRef == "" {
		return invalidGrant("No user associated with authorization")
	}
	if sess.CodeChallenge == "" {
		return nil
	}
	if verifier == "" {
		return invalidGrant("Code verifier required for PKCE")
	}
	if !s.verifierMatches(sess.CodeChallenge, sess.CodeChallengeMethod, verifier) {
		return invalidGrant("Invalid code verifier")
	}
	return nil
}

// verifierMatches is RFC 7636 §4.6: S256, or plain only when the
// configuration allows plain (a plain session cannot exist otherwise).
func (s *Server) verifierMatches(challenge, method, verifier string) bool {
	if !codeVerifierSyntax.MatchString(verifier) {
		return false
	}
	var computed string
	switch method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	case "plain", "":
		if !s.cfg.AllowPlainPKCE {
			return false
		}
		computed = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) == 1
}

// codeReplayed revokes what the code's first redemption issued
// (RFC 6749 §4.1.2, RFC 6819 §4.4.1.1): the user's refresh sessions for
// the code's client. It logs who and which client, never the code.
func (s *Server) codeReplayed(ctx context.Context, ac identity.AuthCode) {
	n, err := s.opts.Store.DeleteRefreshSessionsFor(ctx, ac.UserEntityRef, ac.ClientID)
	attrs := []any{"client_id", ac.ClientID, "user", ac.UserEntityRef, "revoked_refresh_sessions", n}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	s.log.WarnContext(ctx, "authorization code replayed; refresh sessions issued from it revoked", attrs...)
}

// resourceParam reads RFC 8707's resource at /v1/token: one absolute URI
// without a fragment, else 400 invalid_target.
func resourceParam(p *params) (string, error) {
	v, ok := p.m["resource"]
	if !ok {
		return "", nil
	}
	r, isStr := v.(string)
	u, err := url.Parse(r)
	if !isStr || err != nil || !u.IsAbs() || u.Fragment != "" || u.RawFragment != "" {
		return "", newError(http.StatusBadRequest, CodeInvalidTarget, "resource must be one absolute URI without a fragment")
	}
	return r, nil
}

// matchResource is the resource a token is for: the one the request
// names, which must be the granted one when there is one (RFC 8707 §2.2),
// else the granted one.
func matchResource(requested, granted string) (string, error) {
	if requested != "" && granted != "" && requested != granted {
		return "", newError(http.StatusBadRequest, CodeInvalidTarget, "The resource does not match the authorization request")
	}
	if requested == "" {
		return granted, nil
	}
	return requested, nil
}

// mayRefresh reports whether the client may use the refresh_token grant:
// its document (the CLI's from memory, a CIMD client's fetched, usually
// cached) or its registration lists it. A document that cannot be fetched
// now means no refresh token this time, as a failed issuance in Backstage.
func (s *Server) mayRefresh(ctx context.Context, clientID string) bool {
	if clientID == s.cfg.CLIClientID() {
		return s.cfg.cliClient().AllowsGrant(grantRefreshToken)
	}
	dcr, err := s.dcrClient(ctx, clientID)
	if err == nil && dcr != nil {
		return slices.Contains(dcr.GrantTypes, grantRefreshToken)
	}
	if err == nil {
		var doc *cimd.Client
		if doc, err = s.tok.fetcher.Fetch(ctx, clientID); err == nil {
			return doc.AllowsGrant(grantRefreshToken)
		}
	}
	s.log.WarnContext(ctx, "could not read the client's grant types; no refresh token issued",
		slog.String("client_id", clientID), slog.String("error", err.Error()))
	return false
}
