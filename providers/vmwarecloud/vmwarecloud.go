// Package vmwarecloud is the vmwareCloudServices provider: VMware Cloud
// Services (CSP) OAuth with PKCE as a public client, as Backstage's
// auth-backend-module-vmware-cloud-provider speaks it.
//
// The requests are built by hand, not with x/oauth2's Config (only its PKCE
// verifier and challenge are used), because they must be what Backstage's
// module sends byte for byte: authorize parameters in
// passport-oauth2's order plus orgId, and a token request carrying both
// `Authorization: Basic base64("<clientId>:")` and client_id/client_secret=
// in the form.
//
// Like Backstage, it does not verify the ID token's signature by default;
// Config.VerifySignature (verifyIdTokenSignature / jwksUrl) turns go-oidc
// verification on. Either way the decoded claims must carry iat and, when
// they name an azp or several audiences, an azp equal to the client ID
// (OpenID Connect Core 3.1.3.7), and an iss parameter in the callback must
// name the ID token's issuer (RFC 9207); Backstage checks none of these.
// The profile claim checks (email, names, context_name equal to the
// organization) are the vmwareCloudServices profile transform's job.
package vmwarecloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/neterr"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// ID is the provider id, as Backstage registers it.
const ID = "vmwareCloudServices"

// DefaultTransform is the profile transform Backstage's module applies.
const DefaultTransform = "vmwareCloudServices"

// Paths under the console endpoint.
const (
	authorizePath = "/csp/gateway/discovery"
	tokenPath     = "/csp/gateway/am/api/auth/token"
	// jwksPath is where CSP publishes its token signing keys.
	jwksPath = "/csp/gateway/am/api/auth/token-public-key?format=jwks"
)

// Config opens a Provider.
type Config struct {
	// ClientID is the OAuth app id (required); the app is a public client.
	ClientID string
	// OrganizationID is sent as orgId and handed to the transform (required).
	OrganizationID string
	// ConsoleEndpoint defaults to DefaultConsoleEndpoint.
	ConsoleEndpoint string
	// CallbackURL is the redirect_uri (required).
	CallbackURL string
	// Timeout bounds each console call; default providers.DefaultTimeout.
	Timeout time.Duration
	// VerifySignature checks ID-token signatures (and aud, exp) against
	// JWKSURL, default <console>/csp/gateway/am/api/auth/token-public-key?format=jwks.
	VerifySignature bool
	JWKSURL         string
	HTTPClient      *http.Client
	Logger          *slog.Logger
	Now             func() time.Time
}

// Provider is an opened vmwareCloudServices provider. It is safe for
// concurrent use and keeps no state between requests.
type Provider struct {
	cfg      Config
	http     *http.Client
	basic    string
	verifier *gooidc.IDTokenVerifier
}

var (
	_ providers.Provider  = (*Provider)(nil)
	_ providers.Refresher = (*Provider)(nil)
)

// New checks cfg. Missing keys are errors naming the config key.
func New(cfg Config) (*Provider, error) {
	var missing []string
	if cfg.ClientID == "" {
		missing = append(missing, "clientId")
	}
	if cfg.OrganizationID == "" {
		missing = append(missing, "organizationId")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("Missing required config value at '%s'", strings.Join(missing, "', '"))
	}
	if cfg.CallbackURL == "" {
		return nil, errors.New("vmwarecloud: a callback URL is required")
	}
	if cfg.ConsoleEndpoint == "" {
		cfg.ConsoleEndpoint = DefaultConsoleEndpoint
	}
	cfg.ConsoleEndpoint = strings.TrimSuffix(cfg.ConsoleEndpoint, "/")
	if u, err := url.Parse(cfg.ConsoleEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("consoleEndpoint %q is not an http(s) URL", cfg.ConsoleEndpoint)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = providers.DefaultTimeout
	}
	opts := providers.OpenOptions{HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Now: cfg.Now}
	opts.Defaults(cfg.Timeout)
	cfg.Now, cfg.Logger = opts.Now, opts.Logger
	hc := opts.HTTPClient
	p := &Provider{cfg: cfg, http: hc, basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.ClientID+":"))}
	if cfg.VerifySignature || cfg.JWKSURL != "" {
		jwks := cfg.JWKSURL
		if jwks == "" {
			jwks = cfg.ConsoleEndpoint + jwksPath
		}
		keys := gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), hc), jwks)
		// CSP's issuer differs from the console URL, so only the signature,
		// aud and exp are checked: the part Backstage skips.
		p.verifier = gooidc.NewVerifier("", keys, &gooidc.Config{ClientID: cfg.ClientID, SkipIssuerCheck: true, Now: cfg.Now})
	}
	return p, nil
}

// Scopes implements providers.Provider: openid and offline_access always,
// and no granted-scope cookie, as in Backstage's module.
func (p *Provider) Scopes() providers.Scopes {
	return providers.Scopes{Required: []string{"openid", "offline_access"}, Persist: false}
}

// AuthorizationURL implements providers.Provider. It makes a PKCE verifier
// with x/oauth2 (base64url of 32 random bytes), which the server seals in
// its cookie, and sends its S256 challenge.
func (p *Provider) AuthorizationURL(_ context.Context, req providers.StartRequest) (string, error) {
	verifier := oauth2.GenerateVerifier()
	if req.Transaction != nil {
		req.Transaction.CodeVerifier = verifier
	}
	// passport-oauth2's parameter order, then orgId.
	params := [][2]string{
		{"response_type", "code"},
		{"redirect_uri", p.cfg.CallbackURL},
		{"scope", req.Scope},
		{"code_challenge", oauth2.S256ChallengeFromVerifier(verifier)},
		{"code_challenge_method", "S256"},
		{"state", req.State},
		{"client_id", p.cfg.ClientID},
		{"orgId", p.cfg.OrganizationID},
	}
	return p.cfg.ConsoleEndpoint + authorizePath + "?" + encodeOrdered(params), nil
}

func encodeOrdered(params [][2]string) string {
	var sb strings.Builder
	for i, kv := range params {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(url.QueryEscape(kv[0]))
		sb.WriteByte('=')
		sb.WriteString(strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	return sb.String()
}

// Authenticate implements providers.Provider: the code exchange.
func (p *Provider) Authenticate(ctx context.Context, req providers.CallbackRequest) (*providers.Result, error) {
	q := req.Params
	if e := q.Get("error"); e != "" {
		msg := e
		if d := q.Get("error_description"); d != "" {
			msg = d
		}
		if e == "access_denied" {
			return nil, autherr.Authentication("Authentication rejected, %s", msg)
		}
		return nil, autherr.Authentication("Authentication failed, %s", msg)
	}
	code := q.Get("code")
	if code == "" {
		return nil, autherr.Authentication("Authentication rejected, the callback carries no code")
	}
	if req.Transaction.CodeVerifier == "" {
		return nil, autherr.Authentication("Authentication rejected, Unable to verify authorization request state.")
	}
	form := [][2]string{
		{"grant_type", "authorization_code"},
		{"redirect_uri", p.cfg.CallbackURL},
		{"code_verifier", req.Transaction.CodeVerifier},
		{"client_id", p.cfg.ClientID},
		{"client_secret", ""},
		{"code", code},
	}
	tok, err := p.token(ctx, form)
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) {
			return nil, autherr.Wrap(te.name, "Authentication failed, Failed to obtain access token - "+te.message, nil)
		}
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, autherr.Authentication("Authentication failed, Failed to obtain access token")
	}
	res, err := p.result(ctx, tok)
	if err != nil {
		return nil, err
	}
	if err := checkResponseIssuer(q, res.IDTokenClaims); err != nil {
		return nil, err
	}
	return res, nil
}

// checkResponseIssuer applies RFC 9207 as far as CSP allows: Backstage's
// module reads no discovery metadata and CSP's issuer differs from the
// console URL, so the only issuer known is the ID token's. An iss parameter,
// when sent, must name it; none is required. Without an ID token there is
// nothing to compare, and the transform refuses the sign-in anyway.
func checkResponseIssuer(params url.Values, claims map[string]any) error {
	if _, sent := params["iss"]; !sent || claims == nil {
		return nil
	}
	iss, _ := claims["iss"].(string)
	if iss == "" {
		return autherr.Authentication("Authentication rejected, the authorization response carries iss but the ID token has no iss claim to check it against")
	}
	return providers.CheckResponseIssuer(params, iss, false)
}

// Refresh implements providers.Refresher. The answer must carry an ID
// token, which the transform then checks as at sign-in.
func (p *Provider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Result, error) {
	form := [][2]string{
		{"scope", req.Scope},
		{"grant_type", "refresh_token"},
		{"client_id", p.cfg.ClientID},
		{"client_secret", ""},
		{"refresh_token", req.RefreshToken},
	}
	tok, err := p.token(ctx, form)
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) {
			return nil, autherr.Wrap(te.name, "Failed to refresh access token", autherr.Plain("%s", te.message))
		}
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, autherr.Plain("Failed to refresh access token, no access token received")
	}
	return p.result(ctx, tok)
}

// tokenResponse is the console's token answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
}

// tokenError is a failed token call: name is how it reaches the user, and
// message the console's own message when it sent one, else what happened.
type tokenError struct {
	name    string
	message string
}

func (e *tokenError) Error() string { return e.message }

func (p *Provider) token(ctx context.Context, form [][2]string) (*tokenResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	endpoint := p.cfg.ConsoleEndpoint + tokenPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(encodeOrdered(form)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", p.basic)
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, &tokenError{name: autherr.NameServiceUnavailable, message: fmt.Sprintf("the token endpoint %s is unreachable: %v", endpoint, neterr.WithoutURL(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &tokenError{name: autherr.NameServiceUnavailable, message: fmt.Sprintf("reading the token endpoint's answer: %v", err)}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var tok tokenResponse
	jsonErr := json.Unmarshal(body, &tok)
	if resp.StatusCode/100 != 2 {
		te := &tokenError{name: autherr.NameAuthentication}
		if resp.StatusCode >= 500 {
			te.name = autherr.NameServiceUnavailable
		}
		var e struct {
			Message          string `json:"message"`
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil {
			te.message = firstNonEmpty(e.Message, e.ErrorDescription, e.Error)
		}
		if te.message == "" {
			te.message = fmt.Sprintf("the token endpoint answered HTTP %d (%s)", resp.StatusCode, describeType(mt))
		}
		return nil, te
	}
	if jsonErr != nil {
		// node-oauth falls back to a query string.
		v, qerr := url.ParseQuery(string(body))
		if qerr != nil || v.Get("access_token") == "" {
			return nil, &tokenError{name: autherr.NameAuthentication, message: fmt.Sprintf("the token endpoint answered %s, not JSON", describeType(mt))}
		}
		tok = tokenResponse{AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), IDToken: v.Get("id_token"),
			RefreshToken: v.Get("refresh_token"), Scope: v.Get("scope")}
		fmt.Sscan(v.Get("expires_in"), &tok.ExpiresIn)
	}
	return &tok, nil
}

func describeType(mt string) string {
	if mt == "" {
		return "no content type"
	}
	return mt
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// result builds the provider result. The ID token is decoded, and
// verified only when configured; an absent one is left for the transform
// to refuse with Backstage's message.
func (p *Provider) result(ctx context.Context, tok *tokenResponse) (*providers.Result, error) {
	res := &providers.Result{
		Session: providers.Session{
			AccessToken: tok.AccessToken, TokenType: tok.TokenType, IDToken: tok.IDToken,
			RefreshToken: tok.RefreshToken, Scope: tok.Scope, ExpiresInSeconds: tok.ExpiresIn,
		},
		Attributes: map[string]any{"organizationId": p.cfg.OrganizationID},
	}
	if res.Session.TokenType == "" {
		res.Session.TokenType = "bearer"
	}
	if tok.IDToken == "" {
		return res, nil
	}
	if p.verifier != nil {
		idt, err := p.verifier.Verify(ctx, tok.IDToken)
		if err != nil {
			return nil, autherr.Authentication("Authentication rejected, ID token verification failed: %s", err)
		}
		if err := idt.Claims(&res.IDTokenClaims); err != nil {
			return nil, autherr.Authentication("Authentication rejected, ID token claims are not a JSON object")
		}
	} else {
		claims, err := decodeJWT(tok.IDToken)
		if err != nil {
			return nil, autherr.Plain("Failed to parse id token and get profile info, %s", err)
		}
		res.IDTokenClaims = claims
	}
	// Backstage's module checks neither; OpenID Connect Core 3.1.3.7 does.
	if err := providers.CheckIDTokenClaims(res.IDTokenClaims, p.cfg.ClientID); err != nil {
		return nil, err
	}
	return res, nil
}

// anyAlg lists every JWS alg go-jose knows, and "none": decodeJWT reads the
// claims whatever the header's alg, as jose.decodeJwt does.
var anyAlg = []jose.SignatureAlgorithm{
	jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, "none",
}

// decodeJWT reads a compact JWT's claims without verifying it, as
// jose.decodeJwt (Backstage's module) does.
func decodeJWT(token string) (map[string]any, error) {
	jws, err := jose.ParseSigned(token, anyAlg)
	if err != nil {
		return nil, errors.New("Invalid JWT")
	}
	var claims map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil || claims == nil {
		return nil, errors.New("Invalid JWT: the payload is not a JSON object")
	}
	return claims, nil
}
