// Package oidc is the OpenID Connect provider, wire-compatible with
// Backstage's oidc module (@backstage/plugin-auth-backend-module-oidc-provider):
// discovery from metadataUrl, authorization code with PKCE (S256) and nonce,
// ID-token verification with go-oidc, a userinfo call that accepts JSON and
// application/jwt answers, refresh, and revocation and RP-initiated logout
// (end_session_endpoint) at logout.
//
// Unlike Backstage it keeps no server-side session: the nonce and PKCE
// verifier come back from the server's sealed transaction cookie.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/neterr"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// Config opens an OIDC provider. Its fields mirror the keys of Backstage's
// oidc provider config (auth.providers.oidc.<env>: metadataUrl, clientId,
// clientSecret, callbackUrl, tokenEndpointAuthMethod,
// tokenSignedResponseAlg, prompt, startUrlSearchParams, timeout).
type Config struct {
	// ProviderID is the id used in messages, e.g. "vcfsso".
	ProviderID string
	// MetadataURL is the issuer URL or the discovery document's URL.
	MetadataURL  string
	ClientID     string
	ClientSecret string
	// CallbackURL is the redirect_uri registered at the IdP.
	CallbackURL string
	// TokenEndpointAuthMethod is client_secret_basic (default) or client_secret_post.
	TokenEndpointAuthMethod string
	// TokenSignedResponseAlg is the only ID-token alg accepted; default RS256.
	TokenSignedResponseAlg string
	// Prompt: "" sends prompt=none as Backstage does, "auto" sends none at all.
	Prompt string
	// StartURLSearchParams are extra authorization-request parameters; the
	// protocol's own parameters win over them.
	StartURLSearchParams map[string]string
	// Timeout bounds every call to the IdP; default providers.DefaultTimeout.
	Timeout time.Duration
	// UserInfoFallback makes a missing or failing userinfo endpoint fall back
	// to the ID-token claims instead of failing the sign-in (VCF SSO
	// deployments differ in what their userinfo endpoint answers).
	UserInfoFallback bool
	// HTTPClient is used for every IdP call; default a client with Timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is for tests; default time.Now.
	Now func() time.Time
}

// Provider is an opened OIDC provider. Discovery happens on first use and is
// retried on later requests while the IdP is unreachable, so Gatehouse can
// start before its IdP.
type Provider struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger

	mu        sync.Mutex
	disc      *discovered
	lastTry   time.Time
	lastError error
}

var (
	_ providers.Provider      = (*Provider)(nil)
	_ providers.Refresher     = (*Provider)(nil)
	_ providers.LogoutHandler = (*Provider)(nil)
	_ providers.Discoverer    = (*Provider)(nil)
)

type discovered struct {
	issuer        string
	oauth         oauth2.Config
	verifier      *gooidc.IDTokenVerifier
	keys          *gooidc.RemoteKeySet
	userinfoURL   string
	revocationURL string
	// endSessionURL is end_session_endpoint (RP-Initiated Logout 1.0).
	endSessionURL string
	pkceMethod    string
	// issParam is authorization_response_iss_parameter_supported: the
	// callback must then carry iss (RFC 9207).
	issParam bool
}

// metadata is the part of the discovery document Gatehouse reads.
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	IssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// New checks cfg and returns a provider. It does not contact the IdP.
func New(cfg Config) (*Provider, error) {
	if cfg.MetadataURL == "" || cfg.ClientID == "" || cfg.CallbackURL == "" {
		return nil, errors.New("oidc: metadataUrl, clientId and callbackUrl are required")
	}
	if u, err := url.Parse(cfg.MetadataURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("metadataUrl: %q is not an absolute http(s) URL", cfg.MetadataURL)
	}
	switch cfg.TokenEndpointAuthMethod {
	case "", "client_secret_basic", "client_secret_post":
	default:
		return nil, fmt.Errorf("tokenEndpointAuthMethod: %q is not supported (use client_secret_basic or client_secret_post)", cfg.TokenEndpointAuthMethod)
	}
	if cfg.TokenSignedResponseAlg == "" {
		cfg.TokenSignedResponseAlg = "RS256"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = providers.DefaultTimeout
	}
	opts := providers.OpenOptions{HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Now: cfg.Now}
	opts.Defaults(cfg.Timeout)
	cfg.Now, cfg.Logger = opts.Now, opts.Logger
	hc := opts.HTTPClient
	return &Provider{cfg: cfg, http: hc, log: cfg.Logger}, nil
}

// Scopes: openid profile email always, persisted in the granted-scope cookie.
func (p *Provider) Scopes() providers.Scopes {
	return providers.Scopes{Required: []string{"openid", "profile", "email"}, Persist: true}
}

// discoveryURL applies openid-client's rule: a URL containing /.well-known/
// is used as-is, anything else gets /.well-known/openid-configuration.
func discoveryURL(metadataURL string) string {
	if strings.Contains(metadataURL, "/.well-known/") {
		return metadataURL
	}
	return strings.TrimSuffix(metadataURL, "/") + "/.well-known/openid-configuration"
}

// Discover fetches the discovery document now. Callers may use it at
// start-up to fail fast or report readiness; requests call it lazily.
func (p *Provider) Discover(ctx context.Context) error {
	_, err := p.discover(ctx)
	return err
}

func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	// While the IdP is down, try at most once a second rather than on every
	// request, and answer in between with the last error.
	if p.lastError != nil && p.cfg.Now().Sub(p.lastTry) < time.Second {
		return nil, p.lastError
	}
	p.lastTry = p.cfg.Now()
	d, err := p.fetchDiscovery(ctx)
	if err != nil {
		p.lastError = autherr.Wrap(autherr.NameServiceUnavailable,
			fmt.Sprintf("Authentication failed, OIDC discovery at %s failed", discoveryURL(p.cfg.MetadataURL)), err)
		return nil, p.lastError
	}
	p.disc, p.lastError = d, nil
	return d, nil
}

func (p *Provider) fetchDiscovery(ctx context.Context) (*discovered, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	du := discoveryURL(p.cfg.MetadataURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, du, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, neterr.WithoutURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the IdP answered HTTP %d", resp.StatusCode)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("the discovery document is not JSON: %v", err)
	}
	var missing []string
	for k, v := range map[string]string{"issuer": m.Issuer, "authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint, "jwks_uri": m.JWKSURI} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("the discovery document lacks %s", strings.Join(missing, ", "))
	}
	pkce := "S256"
	if len(m.CodeChallengeMethods) > 0 && !slices.Contains(m.CodeChallengeMethods, "S256") {
		if !slices.Contains(m.CodeChallengeMethods, "plain") {
			return nil, errors.New("the IdP supports neither S256 nor plain PKCE")
		}
		pkce = "plain"
	}
	kctx := gooidc.ClientContext(context.Background(), p.http)
	keys := gooidc.NewRemoteKeySet(kctx, m.JWKSURI)
	verifier := gooidc.NewVerifier(m.Issuer, keys, &gooidc.Config{
		ClientID:             p.cfg.ClientID,
		SupportedSigningAlgs: []string{p.cfg.TokenSignedResponseAlg},
		Now:                  p.cfg.Now,
	})
	style := oauth2.AuthStyleInHeader
	if p.cfg.TokenEndpointAuthMethod == "client_secret_post" {
		style = oauth2.AuthStyleInParams
	}
	return &discovered{
		issuer: m.Issuer,
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			RedirectURL:  p.cfg.CallbackURL,
			Endpoint:     oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint, AuthStyle: style},
		},
		verifier:      verifier,
		keys:          keys,
		userinfoURL:   m.UserinfoEndpoint,
		revocationURL: m.RevocationEndpoint,
		endSessionURL: m.EndSessionEndpoint,
		pkceMethod:    pkce,
		issParam:      m.IssParameterSupported,
	}, nil
}

// AuthorizationURL builds the authorization request Backstage's oidc
// provider (openid-client) sends: code flow with the requested scope, the
// state, a fresh nonce, PKCE (S256 unless the IdP offers only plain), and
// prompt=none unless Config.Prompt says otherwise.
func (p *Provider) AuthorizationURL(ctx context.Context, req providers.StartRequest) (string, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	txn := providers.Transaction{Nonce: base64.StdEncoding.EncodeToString(nonce), CodeVerifier: oauth2.GenerateVerifier()}
	var opts []oauth2.AuthCodeOption
	for k, v := range p.cfg.StartURLSearchParams {
		switch k {
		case "scope", "state", "nonce", "prompt", "response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method":
			continue // the protocol's own parameters win
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	opts = append(opts, oauth2.SetAuthURLParam("nonce", txn.Nonce))
	if d.pkceMethod == "S256" {
		opts = append(opts, oauth2.S256ChallengeOption(txn.CodeVerifier))
	} else {
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", txn.CodeVerifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	}
	switch p.cfg.Prompt {
	case "":
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "none"))
	case "auto":
	default:
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p.cfg.Prompt))
	}
	cfg := d.oauth
	cfg.Scopes = strings.Fields(req.Scope)
	*req.Transaction = txn
	return cfg.AuthCodeURL(req.State, opts...), nil
}

// Authenticate finishes the callback at /handler/frame: the response's iss
// (RFC 9207), the IdP's error, the code exchange with the PKCE verifier,
// ID-token verification including nonce, alg, iat and azp, then userinfo.
func (p *Provider) Authenticate(ctx context.Context, req providers.CallbackRequest) (*providers.Result, error) {
	// The issuer comes first, even before an error parameter: a response
	// from another issuer says nothing this provider may act on.
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	if err := providers.CheckResponseIssuer(req.Params, d.issuer, d.issParam); err != nil {
		return nil, err
	}
	if e := req.Params.Get("error"); e != "" {
		return nil, idpError(e, req.Params.Get("error_description"))
	}
	code := req.Params.Get("code")
	if code == "" {
		return nil, autherr.Authentication("Authentication rejected, the callback carries no code")
	}
	ctx, cancel := context.WithTimeout(oauth2ctx(ctx, p.http), p.cfg.Timeout)
	defer cancel()
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(req.Transaction.CodeVerifier))
	if err != nil {
		return nil, tokenError(err, "Authentication failed")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, autherr.Authentication("Authentication rejected, the token response carries no id_token")
	}
	claims, err := p.verifyIDToken(ctx, d, raw, req.Transaction.Nonce, true)
	if err != nil {
		return nil, err
	}
	return p.result(ctx, d, tok, raw, claims)
}

// Refresh redeems the refresh token at the token endpoint. The requested scope is not
// sent, as openid-client does not send it.
//
// A refresh makes two IdP calls (the token endpoint, then userinfo) and
// verifies the new ID token's signature: about a seventh of a /refresh's
// CPU in Gatehouse (make bench-e2e -cpuprofile), and all of it stays.
// Backstage's oidc provider calls userinfo on every refresh and its
// profile transforms read that answer, and an ID token is only used once
// verified. What could be shared is: the discovery document, the
// verifier and the key set are made once, and the calls keep their
// connections alive (one transport per gateway).
func (p *Provider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Result, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(oauth2ctx(ctx, p.http), p.cfg.Timeout)
	defer cancel()
	tok, err := d.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: req.RefreshToken}).Token()
	if err != nil {
		return nil, tokenError(err, "Failed to refresh access token")
	}
	raw, _ := tok.Extra("id_token").(string)
	var claims map[string]any
	if raw != "" {
		if claims, err = p.verifyIDToken(ctx, d, raw, "", false); err != nil {
			return nil, err
		}
	}
	return p.result(ctx, d, tok, raw, claims)
}

func (p *Provider) result(ctx context.Context, d *discovered, tok *oauth2.Token, rawID string, claims map[string]any) (*providers.Result, error) {
	info, err := p.userinfo(ctx, d, tok.AccessToken)
	if err != nil {
		// A forged answer is an attack, not an outage: never fall back.
		var forged integrityError
		if !p.cfg.UserInfoFallback || errors.As(err, &forged) {
			return nil, err
		}
		p.log.LogAttrs(ctx, slog.LevelWarn, "userinfo failed; using the ID-token claims",
			slog.String("provider", p.cfg.ProviderID), slog.String("error", err.Error()))
		info = nil
	}
	if info != nil && claims != nil {
		if s1, s2 := info["sub"], claims["sub"]; s1 != nil && s1 != s2 {
			return nil, autherr.Authentication("Authentication rejected, userinfo sub mismatch, expected %v, got: %v", s2, s1)
		}
	}
	scope, _ := tok.Extra("scope").(string)
	var expiresIn int64
	if !tok.Expiry.IsZero() {
		expiresIn = int64(tok.Expiry.Sub(p.cfg.Now()).Round(time.Second) / time.Second)
	}
	return &providers.Result{
		Session: providers.Session{
			AccessToken:      tok.AccessToken,
			TokenType:        tok.Type(),
			IDToken:          rawID,
			RefreshToken:     tok.RefreshToken,
			Scope:            scope,
			ExpiresInSeconds: expiresIn,
		},
		IDTokenClaims: claims,
		UserInfo:      info,
	}, nil
}

func (p *Provider) verifyIDToken(ctx context.Context, d *discovered, raw, nonce string, checkNonce bool) (map[string]any, error) {
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, autherr.Authentication("Authentication rejected, ID token verification failed: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if checkNonce && idt.Nonce != nonce {
		return nil, autherr.Authentication("Authentication rejected, ID token nonce mismatch")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, autherr.Authentication("Authentication rejected, ID token claims are not a JSON object")
	}
	// go-oidc checks neither that iat is present nor azp.
	if err := providers.CheckIDTokenClaims(claims, p.cfg.ClientID); err != nil {
		return nil, err
	}
	return claims, nil
}

// userinfo calls the userinfo endpoint. A JSON answer is used as-is; an
// application/jwt answer is verified against the IdP's keys first.
func (p *Provider) userinfo(ctx context.Context, d *discovered, accessToken string) (map[string]any, error) {
	if d.userinfoURL == "" {
		return nil, autherr.Authentication("Authentication failed, OIDC IdP must provide a userinfo_endpoint in the metadata response")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.userinfoURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, autherr.Wrap(autherr.NameServiceUnavailable, "Authentication failed, userinfo request failed", neterr.WithoutURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, autherr.Wrap(autherr.NameServiceUnavailable, "Authentication failed, userinfo answer could not be read", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, autherr.Authentication("Authentication failed, userinfo endpoint answered HTTP %d", resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/jwt" {
		payload, err := d.keys.VerifySignature(ctx, strings.TrimSpace(string(body)))
		if err != nil {
			return nil, integrityError{autherr.Authentication("Authentication rejected, userinfo JWT signature is invalid")}
		}
		body = payload
	}
	var info map[string]any
	if err := json.Unmarshal(body, &info); err != nil || info == nil {
		return nil, autherr.Authentication("Authentication failed, userinfo answer is not a JSON object (content type %q)", mt)
	}
	return info, nil
}

// integrityError marks an IdP answer that failed verification, which the
// userinfo fallback must not paper over.
type integrityError struct{ err error }

func (e integrityError) Error() string { return e.err.Error() }
func (e integrityError) Unwrap() error { return e.err }

// Logout revokes the refresh token when the IdP advertises a
// revocation_endpoint (RFC 7009), and returns the RP-initiated logout URL
// (rpLogoutURL) when req.EndSession is set and the IdP advertises an
// end_session_endpoint. The URL comes back even when the revocation fails:
// ending the IdP session is worth more than reporting the error first.
func (p *Provider) Logout(ctx context.Context, req providers.LogoutRequest) (string, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	var logoutURL string
	if req.EndSession && d.endSessionURL != "" {
		if logoutURL, err = rpLogoutURL(d.endSessionURL, p.cfg.ClientID, req); err != nil {
			return "", err
		}
	}
	if req.RefreshToken == "" || d.revocationURL == "" {
		return logoutURL, nil
	}
	return logoutURL, p.revoke(ctx, d, req.RefreshToken)
}

// rpLogoutURL is end_session_endpoint with the parameters of OpenID Connect
// RP-Initiated Logout 1.0 §2 added to any query it already has:
// id_token_hint (when known), client_id, post_logout_redirect_uri and state
// (when set). The endpoint must be an absolute http(s) URL.
func rpLogoutURL(endpoint, clientID string, req providers.LogoutRequest) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the discovery document's end_session_endpoint is not an absolute http(s) URL")
	}
	q := u.Query()
	if req.IDTokenHint != "" {
		q.Set("id_token_hint", req.IDTokenHint)
	}
	q.Set("client_id", clientID)
	if req.PostLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", req.PostLogoutRedirectURI)
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String(), nil
}

// revoke sends the refresh token to the revocation endpoint (RFC 7009).
func (p *Provider) revoke(ctx context.Context, d *discovered, refreshToken string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	if d.oauth.Endpoint.AuthStyle == oauth2.AuthStyleInParams {
		form.Set("client_id", p.cfg.ClientID)
		form.Set("client_secret", p.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.revocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if d.oauth.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return neterr.WithoutURL(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func oauth2ctx(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// idpError maps an error= callback the way openid-client and passport do:
// server_error and invalid_* are failures, anything else a rejection.
func idpError(code, desc string) error {
	msg := code
	if desc != "" {
		msg = code + " (" + desc + ")"
	}
	if code == "server_error" || strings.HasPrefix(code, "invalid") {
		return autherr.Authentication("Authentication failed, %s", msg)
	}
	return autherr.Authentication("Authentication rejected, %s", msg)
}

// tokenError describes a token-endpoint failure without echoing its body:
// the status, and the OAuth error code and description when there are some.
func tokenError(err error, prefix string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		detail := fmt.Sprintf("token endpoint answered HTTP %d", status)
		if re.ErrorCode != "" {
			detail += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				detail += " (" + re.ErrorDescription + ")"
			}
		}
		if status >= 500 {
			return autherr.Wrap(autherr.NameServiceUnavailable, prefix+", "+detail, nil)
		}
		return autherr.Authentication("%s, %s", prefix, detail)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return autherr.ServiceUnavailable("%s, the token endpoint could not be reached: %s", prefix, neterr.WithoutURL(err))
	}
	// Anything else is an answer oauth2 could not use (not JSON, no
	// access_token, …); its message carries no token material.
	return autherr.Authentication("%s, %s", prefix, strings.TrimPrefix(err.Error(), "oauth2: "))
}
