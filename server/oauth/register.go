package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// DefaultRegisterRate is how many registrations one client address may
// make per minute at /v1/register (spec §6.15).
const DefaultRegisterRate = 10

// registration is /v1/register's 201 body: Backstage's three members, then
// what RFC 7591 §3.2.1 asks for (spec §6.15).
type registration struct {
	ClientID                string   `json:"client_id"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientSecret            string   `json:"client_secret"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   int64    `json:"client_secret_expires_at"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
}

// register is POST /v1/register (spec §2.11, RFC 7591): open
// registration, rate-limited per client address. The client is
// confidential: its secret (32 random bytes, base64url — not a UUID,
// whose 122 random bits in a recognisable shape Backstage uses) is shown
// once and stored hashed. The registration lapses after
// DefaultClientIdleLifetime without use; each authentication extends it.
func (s *Server) register(c echo.Context) error {
	r := c.Request()
	if ok, wait := s.tok.registers.allow(clientAddress(r), s.now()); !ok {
		c.Response().Header().Set("Retry-After", retryAfter(wait))
		return s.writeError(c, newError(http.StatusTooManyRequests, CodeInvalidRequest, "Too many registrations from this address; try again later"))
	}
	p, err := bodyParams(c)
	if err != nil {
		return err
	}
	uris := p.urls("redirect_uris", true)
	name := p.str("client_name", false, false)
	responseTypes := p.strs("response_types")
	grantTypes := p.strs("grant_types")
	scope := p.str("scope", false, false)
	if err := p.err(); err != nil {
		return s.writeError(c, err)
	}
	grantTypes, responseTypes, err = s.clientMetadata(grantTypes, responseTypes)
	if err == nil {
		err = s.checkRegisteredRedirects(uris)
	}
	if err != nil {
		return s.writeError(c, err)
	}
	if name == "" {
		name = unnamedClient(uris[0])
	}
	secret, err := randomSecret()
	if err != nil {
		return s.writeError(c, err)
	}
	now := s.now()
	cl := identity.OAuthClient{ID: uuid.NewString(), SecretHash: identity.HashSecret(secret), Name: name,
		RedirectURIs: uris, GrantTypes: grantTypes, ResponseTypes: responseTypes, Scope: scope,
		Created: now, LastUsed: now, Expires: now.Add(s.tok.clientIdle)}
	if err := s.opts.Store.CreateClient(r.Context(), cl); err != nil {
		return s.writeError(c, err)
	}
	s.log.InfoContext(r.Context(), "OAuth client registered", "client_id", cl.ID, "client_name", name, "address", clientAddress(r))
	return writeJSON(c, http.StatusCreated, registration{ClientID: cl.ID, RedirectURIs: uris, ClientSecret: secret,
		ClientIDIssuedAt: now.Unix(), TokenEndpointAuthMethod: "client_secret_basic",
		GrantTypes: grantTypes, ResponseTypes: responseTypes}, true)
}

// clientMetadata settles grant_types and response_types. Backstage stores
// them and enforces neither; Gatehouse enforces grant_types at /v1/token,
// so it refuses values it does not serve instead of storing a promise it
// will not keep. Omitted grant_types default to authorization_code plus
// refresh_token when refresh tokens are on (RFC 7591's default is
// authorization_code alone): clients that omit the member got refresh
// tokens from Backstage and keep getting them.
func (s *Server) clientMetadata(grants, responses []string) ([]string, []string, error) {
	if grants == nil {
		grants = []string{grantAuthorizationCode}
		if s.cfg.Refresh.Enabled {
			grants = append(grants, grantRefreshToken)
		}
	}
	for _, g := range grants {
		if g != grantAuthorizationCode && g != grantRefreshToken {
			return nil, nil, newError(http.StatusBadRequest, CodeInvalidClientMeta, "Unsupported grant_type "+strconv.Quote(g))
		}
	}
	if !slices.Contains(grants, grantAuthorizationCode) {
		return nil, nil, newError(http.StatusBadRequest, CodeInvalidClientMeta, "grant_types must include authorization_code")
	}
	if responses == nil {
		responses = []string{"code"}
	}
	for _, rt := range responses {
		if rt != "code" {
			return nil, nil, newError(http.StatusBadRequest, CodeInvalidClientMeta, "Unsupported response_type "+strconv.Quote(rt))
		}
	}
	return slices.Compact(grants), slices.Compact(responses), nil
}

// checkRegisteredRedirects refuses a redirect URI the allowlist does not
// admit, or one with credentials, in Backstage's words (spec §2.11 step
// 2): the URI shown without credentials, query or fragment.
func (s *Server) checkRegisteredRedirects(uris []string) error {
	for _, raw := range uris {
		if err := s.tok.dcrRedirects.CheckRedirectURI(raw); err != nil {
			shown := raw
			if u, perr := url.Parse(raw); perr == nil {
				shown = u.Scheme + "://" + u.Host + u.EscapedPath()
			}
			return invalidRequest("Invalid redirect_uri '" + shown + "'")
		}
	}
	return nil
}

// unnamedClient is the name of a client registered without client_name.
// Backstage calls it "Backstage CLI", which the consent page then shows
// for any caller (spec §6.15); Gatehouse names it after where it
// redirects, which is what the user can judge.
func unnamedClient(redirectURI string) string {
	where := redirectURI
	if u, err := url.Parse(redirectURI); err == nil {
		if where = u.Host; where == "" {
			where = u.Scheme + ":"
		}
	}
	return "Unnamed client (" + where + ")"
}
