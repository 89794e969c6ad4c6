package oauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// This file serves the always-mounted documents (spec §1.2): the OpenID
// discovery document (§2.1), its RFC 8414 twin at <A> and at the server
// root in path-insertion form, and the CLI's client metadata document
// (§2.3). All three depend only on the configuration, which is decided at
// start-up, so they are encoded once in init.

// Paths of the discovery documents, relative to <A> (or, for the RFC 8414
// path-insertion form, the server root followed by <A>'s path).
const (
	OpenIDConfigurationPath = "/.well-known/openid-configuration"
	ASMetadataPath          = "/.well-known/oauth-authorization-server"
	CLIClientDocumentPath   = "/.well-known/oauth-client/cli.json"
)

// Token endpoint authentication methods (RFC 7591 §2): DCR clients are
// confidential (Basic or body secret), CIMD clients and the CLI public.
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodNone              = "none"
)

// PKCE methods (RFC 7636 §4.3).
const (
	PKCEMethodS256  = "S256"
	PKCEMethodPlain = "plain"
)

// discoveryMaxAge is how long an HTTP cache may reuse a discovery document
// without asking again. The documents depend only on the configuration, so
// they change only when Gatehouse restarts with another one; an hour keeps
// clients from asking on every flow while a configuration change (a
// rarely moved endpoint or a newly enabled feature) reaches them within the
// hour. Each document's ETag lets a client revalidate for a 304 instead.
const discoveryMaxAge = time.Hour

// discoveryCacheControl is the documents' Cache-Control.
var discoveryCacheControl = httpcache.PublicMaxAge(discoveryMaxAge)

// discoveryState holds the pre-encoded documents with their ETags.
type discoveryState struct {
	openID     httpcache.Document // /.well-known/openid-configuration
	asMetadata httpcache.Document // RFC 8414, both locations
	cliClient  httpcache.Document // the CLI's document; no Body when CIMD is off
	// rootASMetadataPath is the RFC 8414 path-insertion location:
	// /.well-known/oauth-authorization-server followed by <A>'s path.
	rootASMetadataPath string
}

// metadata is the discovery document: Backstage's members in Backstage's
// order (OidcService.getConfiguration), then Gatehouse's additions. The
// members marked OIDC are OpenID Connect Discovery's only and are left out
// of the RFC 8414 document.
type metadata struct {
	Issuer                  string   `json:"issuer"`
	TokenEndpoint           string   `json:"token_endpoint"`
	UserinfoEndpoint        string   `json:"userinfo_endpoint,omitempty"` // OIDC
	JWKSURI                 string   `json:"jwks_uri"`
	ResponseTypes           []string `json:"response_types_supported"`
	SubjectTypes            []string `json:"subject_types_supported,omitempty"`               // OIDC
	IDTokenSigningAlgs      []string `json:"id_token_signing_alg_values_supported,omitempty"` // OIDC
	Scopes                  []string `json:"scopes_supported"`
	TokenEndpointAuthMethod []string `json:"token_endpoint_auth_methods_supported"`
	Claims                  []string `json:"claims_supported,omitempty"` // OIDC
	GrantTypes              []string `json:"grant_types_supported"`
	AuthorizationEndpoint   string   `json:"authorization_endpoint"`
	CodeChallengeMethods    []string `json:"code_challenge_methods_supported"`
	RegistrationEndpoint    string   `json:"registration_endpoint,omitempty"`
	RevocationEndpoint      string   `json:"revocation_endpoint,omitempty"`
	CIMDSupported           bool     `json:"client_id_metadata_document_supported,omitempty"`
	// Gatehouse's additions.
	RevocationAuthMethods []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	ISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// idTokenSigningAlgs is Backstage's fixed list, whatever key signs.
var idTokenSigningAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// openIDMetadata is the OpenID discovery document for c.
func (c Config) openIDMetadata() metadata {
	a := c.AuthBaseURL
	m := metadata{
		Issuer:                  a,
		TokenEndpoint:           a + "/v1/token",
		UserinfoEndpoint:        a + "/v1/userinfo",
		JWKSURI:                 a + "/.well-known/jwks.json",
		ResponseTypes:           []string{"code", "id_token"}, // Backstage's, kept for compatibility
		SubjectTypes:            []string{"public"},
		IDTokenSigningAlgs:      idTokenSigningAlgs,
		Scopes:                  []string{ScopeOpenID},
		TokenEndpointAuthMethod: c.clientAuthMethods(),
		Claims:                  []string{"sub", "ent"},
		GrantTypes:              []string{"authorization_code"},
		AuthorizationEndpoint:   a + "/v1/authorize",
		CodeChallengeMethods:    []string{PKCEMethodS256},
		// RFC 9207: approve and reject put iss=<A> on the redirect.
		ISSParameterSupported: true,
	}
	if c.Refresh.Enabled {
		m.Scopes = append(m.Scopes, ScopeOfflineAccess)
		m.GrantTypes = append(m.GrantTypes, "refresh_token")
	}
	if c.AllowPlainPKCE {
		m.CodeChallengeMethods = append(m.CodeChallengeMethods, PKCEMethodPlain)
	}
	if c.DCR.Enabled {
		m.RegistrationEndpoint = a + "/v1/register"
	}
	if c.Enabled() {
		m.RevocationEndpoint = a + "/v1/revoke"
		// /v1/revoke authenticates exactly as /v1/token does: a DCR
		// client with its secret, a public client's token by possession.
		m.RevocationAuthMethods = c.clientAuthMethods()
	}
	m.CIMDSupported = c.CIMD.Enabled
	return m
}

// clientAuthMethods is how clients authenticate at /v1/token and
// /v1/revoke: DCR clients (registered ones keep working with DCR off) with
// a secret, public clients with none when CIMD is on.
func (c Config) clientAuthMethods() []string {
	ms := []string{AuthMethodClientSecretBasic, AuthMethodClientSecretPost}
	if c.CIMD.Enabled {
		ms = append(ms, AuthMethodNone)
	}
	return ms
}

// asMetadata is the RFC 8414 document: the discovery document without the
// members only OpenID Connect defines, and with the one response type
// Gatehouse serves (id_token is an OpenID Connect response type).
func (c Config) asMetadata() metadata {
	m := c.openIDMetadata()
	m.UserinfoEndpoint, m.SubjectTypes, m.IDTokenSigningAlgs, m.Claims = "", nil, nil, nil
	m.ResponseTypes = []string{"code"}
	return m
}

// cliClientDocument is the CLI's client metadata document in Backstage's
// member order.
func (c Config) cliClientDocument() any {
	cl := c.cliClient()
	return struct {
		ClientID                string   `json:"client_id"`
		ClientName              string   `json:"client_name"`
		RedirectURIs            []string `json:"redirect_uris"`
		ResponseTypes           []string `json:"response_types"`
		GrantTypes              []string `json:"grant_types"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		Scope                   string   `json:"scope"`
	}{cl.ID, cl.Name, cl.RedirectURIs, cl.ResponseTypes, cl.GrantTypes, AuthMethodNone, cl.Scope}
}

// rootASMetadataPath is where RFC 8414 §3.1 puts the metadata of an issuer
// with a path: the well-known segment inserted before <A>'s path.
func rootASMetadataPath(authBaseURL string) (string, error) {
	u, err := url.Parse(authBaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("oauth: the auth base URL %q is not an absolute URL", authBaseURL)
	}
	return ASMetadataPath + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func (d *discoveryState) init(s *Server) error {
	var err error
	if d.rootASMetadataPath, err = rootASMetadataPath(s.cfg.AuthBaseURL); err != nil {
		return err
	}
	if d.openID, err = encodeDocument(s.cfg.openIDMetadata()); err != nil {
		return err
	}
	if d.asMetadata, err = encodeDocument(s.cfg.asMetadata()); err != nil {
		return err
	}
	if s.cfg.CIMD.Enabled {
		d.cliClient, err = encodeDocument(s.cfg.cliClientDocument())
	}
	return err
}

// encodeDocument is v encoded as the answers write JSON, with its strong
// ETag and discoveryMaxAge, computed once here rather than per request.
func encodeDocument(v any) (httpcache.Document, error) {
	body, err := encodeJSON(v)
	if err != nil {
		return httpcache.Document{}, err
	}
	return httpcache.NewDocument(body, discoveryCacheControl), nil
}

// routes are the always-mounted routes: the OpenID discovery document,
// RFC 8414 metadata (at <A> and at the root) and the CLI's client metadata
// document.
func (d *discoveryState) routes(s *Server) []Route {
	return []Route{
		{Method: http.MethodGet, Path: OpenIDConfigurationPath, Handler: d.serve(d.openID)},
		{Method: http.MethodGet, Path: ASMetadataPath, Handler: d.serve(d.asMetadata)},
		{Method: http.MethodGet, Path: d.rootASMetadataPath, Root: true, Handler: d.serve(d.asMetadata)},
		{Method: http.MethodGet, Path: CLIClientDocumentPath, Handler: s.cliClientDocument},
	}
}

func (d *discoveryState) serve(doc httpcache.Document) echo.HandlerFunc {
	return func(c echo.Context) error { return httpcache.Serve(c.Response(), c.Request(), doc) }
}

// cliClientDocument serves the CLI's document, or Backstage's OAuth-style
// 404 when CIMD is off (the CLI reads that as "server does not support CLI
// authentication").
func (s *Server) cliClientDocument(c echo.Context) error {
	if s.disc.cliClient.Body == nil {
		return s.writeError(c, newError(http.StatusNotFound, CodeNotFound, "Client ID metadata documents not enabled"))
	}
	return httpcache.Serve(c.Response(), c.Request(), s.disc.cliClient)
}
