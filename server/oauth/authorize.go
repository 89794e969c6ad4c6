package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// authzState is what /v1/authorize and the consent routes keep
// (authorize.go, consent.go, clients.go): the CIMD allowlists, compiled
// once, and the document fetcher.
type authzState struct {
	clientIDs     *cimd.Allowlist
	cimdRedirects *cimd.Allowlist
	fetcher       ClientFetcher
	// consentBase is <app.baseUrl>/oauth2/authorize/, the consent page
	// of the Backstage frontend (spec §2.13), path of app.baseUrl kept.
	consentBase string
}

// init compiles the allowlists, so a bad pattern stops New instead of
// failing every request as in Backstage (spec §3.2).
func (a *authzState) init(s *Server) error {
	var err error
	if a.clientIDs, err = cimd.CompileAllowlist(s.cfg.CIMD.ClientIDPatterns); err != nil {
		return fmt.Errorf("oauth: CIMD client_id allowlist: %w", err)
	}
	if a.cimdRedirects, err = cimd.CompileAllowlist(s.cfg.CIMD.RedirectURIPatterns); err != nil {
		return fmt.Errorf("oauth: CIMD redirect URI allowlist: %w", err)
	}
	if s.cfg.Enabled() && s.cfg.AppBaseURL == "" {
		return errors.New("oauth: the app base URL (the consent page's) is required when DCR or CIMD is enabled")
	}
	a.consentBase = strings.TrimRight(s.cfg.AppBaseURL, "/") + "/oauth2/authorize/"
	a.fetcher = s.opts.Fetcher
	if a.fetcher == nil {
		// No Trusted hook: unlike Backstage, which skips its SSRF check
		// for exact allowlist entries (spec §3.3, §6.8), every fetched
		// document goes through the connect-time address check. An exact
		// entry names a host, not the addresses its DNS may answer with
		// tomorrow; and the one document Backstage deployments needed the
		// skip for, the CLI's own, is resolved from memory, never fetched.
		a.fetcher = cimd.NewFetcher(cimd.FetcherOptions{Now: s.now})
	}
	return nil
}

// authorizeRequest is /v1/authorize's query as zod validated it.
type authorizeRequest struct {
	clientID, redirectURI, responseType string
	scope, state, nonce                 string
	codeChallenge, codeChallengeMethod  string
	// resources are the resource parameters (RFC 8707), unchecked.
	resources []string
}

// readAuthorizeRequest reads the query with Backstage's zod schema, in its
// key order (spec §2.5). resource is not part of it: it is Gatehouse's
// (RFC 8707) and checked after the client, as an envelope error.
func readAuthorizeRequest(c echo.Context) (authorizeRequest, error) {
	p := queryParams(c)
	r := authorizeRequest{
		clientID:            p.str("client_id", true, true),
		redirectURI:         p.url("redirect_uri", true),
		responseType:        p.str("response_type", true, true),
		scope:               p.str("scope", false, false),
		state:               p.str("state", false, false),
		nonce:               p.str("nonce", false, false),
		codeChallenge:       p.str("code_challenge", false, false),
		codeChallengeMethod: p.str("code_challenge_method", false, false),
		resources:           c.QueryParams()["resource"],
	}
	return r, p.err()
}

// authorize is GET /v1/authorize (spec §2.5): it checks the request,
// stores a consent session and sends the browser to the app's consent
// page. Validation errors are OAuth-style; every other error is returned
// for Backstage's envelope and never redirected to redirect_uri, whose
// trust is what is being checked.
func (s *Server) authorize(c echo.Context) error {
	req, err := readAuthorizeRequest(c)
	if err != nil {
		return s.writeError(c, err)
	}
	sess, err := s.newAuthSession(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return redirect(c, s.authz.consentBase+sess.ID)
}

// newAuthSession runs spec §2.5 steps 2–6 with Gatehouse's PKCE and
// resource rules and stores the pending session.
func (s *Server) newAuthSession(ctx context.Context, req authorizeRequest) (identity.AuthSession, error) {
	if req.responseType != cimd.ResponseTypeCode {
		return identity.AuthSession{}, autherr.Input("Only authorization code flow is supported")
	}
	client, err := s.resolveClient(ctx, req.clientID, req.redirectURI)
	if err != nil {
		return identity.AuthSession{}, err
	}
	if err := s.cfg.checkCodeChallenge(client.public, req.codeChallenge, req.codeChallengeMethod); err != nil {
		return identity.AuthSession{}, err
	}
	resource, err := checkResource(req.resources)
	if err != nil {
		return identity.AuthSession{}, err
	}
	sess := identity.AuthSession{
		ID: uuid.NewString(), ClientID: client.id, RedirectURI: req.redirectURI, Scope: req.scope,
		CodeChallenge: req.codeChallenge, CodeChallengeMethod: req.codeChallengeMethod,
		State: req.state, Nonce: req.nonce, Resource: resource,
		Expires: s.now().Add(AuthSessionLifetime),
	}
	if err := s.opts.Store.CreateAuthSession(ctx, sess); err != nil {
		return identity.AuthSession{}, fmt.Errorf("storing the authorization session: %w", err)
	}
	return sess, nil
}

// checkResource applies RFC 8707 §2 to the optional resource parameter:
// one value at most (a token has one audience besides "backstage"), an
// absolute URI without fragment and without white space.
func checkResource(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", autherr.Input("Invalid resource: only one resource parameter is supported")
	}
	r := values[0]
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() || strings.Contains(r, "#") || strings.ContainsAny(r, " \t\r\n") || !validURL(r) {
		return "", autherr.Input("Invalid resource '%s': it must be an absolute URI without a fragment", r)
	}
	return r, nil
}
