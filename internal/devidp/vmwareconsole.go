package devidp

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The VMware Cloud Services (CSP) console's endpoints, relative to the
// console URL (the IdP's root). Gatehouse's vmwareCloudServices provider,
// like Backstage's module, authorizes at consoleAuthPath and redeems codes and
// refresh tokens at consoleTokenPath; the others are where op needs them.
const (
	consolePrefix         = "/csp/gateway"
	consoleAuthPath       = consolePrefix + "/discovery"
	consoleTokenPath      = consolePrefix + "/am/api/auth/token"
	consoleKeysPath       = consolePrefix + "/am/api/auth/token-public-key" // real CSP serves ?format=jwks here
	consoleUserinfoPath   = consolePrefix + "/am/api/userinfo"
	consoleRevokePath     = consolePrefix + "/am/api/auth/revoke"
	consoleIntrospectPath = consolePrefix + "/am/api/auth/introspect"
	consoleLogoutPath     = consolePrefix + "/am/api/auth/logout"
	consoleLoginPath      = consolePrefix + "/login"
	consoleLoggedOutPath  = consolePrefix + "/logged-out"
	consoleSessionCookie  = "devidp_csp_session"
	// maxTokenForm bounds the token request body the CSP middleware reads.
	maxTokenForm = 1 << 20
)

// newConsoleInstance builds the CSP op instance: issuer = the console URL (base),
// its own signing key, crypto key and storage, the users of vcf and the same
// client IDs and redirect URIs, but as public clients (auth method none,
// PKCE required by op) whose empty-secret Basic header consoleClientAuth checks.
func newConsoleInstance(base, orgID string, vcf *storage, logger *slog.Logger) (*instance, error) {
	kid, key, err := newKey()
	if err != nil {
		return nil, err
	}
	store := newStorage(vcf.users, key, kid, vcf.accessLife)
	store.console, store.consoleOrg = true, orgID
	loginURL := func(id string) string {
		return base + consoleLoginPath + "?authRequestID=" + url.QueryEscape(id)
	}
	for id, c := range vcf.clients {
		store.clients[id] = c.publicClient(loginURL)
	}
	provider, err := newOP(base, store, &op.Config{
		CryptoKeyId:              "devidp-csp",
		DefaultLogoutRedirectURI: base + consoleLoggedOutPath,
	}, []string{"email", "given_name", "family_name", "context_name", "acct"},
		op.WithCustomAuthEndpoint(op.NewEndpoint(consoleAuthPath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(consoleTokenPath)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(consoleKeysPath)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(consoleUserinfoPath)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(consoleRevokePath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(consoleIntrospectPath)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(consoleLogoutPath)),
	)
	if err != nil {
		return nil, fmt.Errorf("dev IdP: VMware Cloud Services console: %w", err)
	}
	return &instance{
		product:    "VMware Cloud Services",
		issuer:     base,
		store:      store,
		provider:   provider,
		loginURL:   base + consoleLoginPath,
		cookieName: consoleSessionCookie,
		cookiePath: consolePrefix,
		log:        logger,
	}, nil
}

// consoleRoutes mounts the CSP instance at the root: its login form, the op
// endpoints under /csp/gateway/ (authorization and token behind the CSP
// checks) and its discovery document. Nothing else at the root is served,
// so the VCF SSO issuer path stays VCF SSO's.
func (p *IdP) consoleRoutes(mux *http.ServeMux) {
	in := p.console
	interceptor := op.NewIssuerInterceptor(in.provider.IssuerFromRequest)
	mux.Handle(consoleLoginPath, interceptor.Handler(http.HandlerFunc(in.login)))
	mux.HandleFunc(consoleLoggedOutPath, p.loggedOut)
	opHandler := in.withSession(in.provider)
	mux.Handle(consoleAuthPath, p.consoleAuthorizeChecks(opHandler))
	mux.Handle(consoleTokenPath, p.consoleClientAuth(opHandler))
	mux.Handle(consoleRevokePath, p.consoleClientAuth(opHandler))
	mux.Handle(consoleLogoutPath, p.consoleLogoutAPI(opHandler))
	mux.Handle(consolePrefix+"/", opHandler)
	mux.Handle(oidc.DiscoveryEndpoint, opHandler)
}

// consoleAuthorizeChecks enforces what CSP requires of an authorization request
// beyond OAuth: PKCE with S256, and orgId naming the console's organization.
// Failures go back to the redirect URI with error=invalid_request and the
// state (built by op), but only once the client and redirect URI are known
// to be registered; anything else is left to op, which shows an error page
// for an unregistered redirect URI and never redirects there.
func (p *IdP) consoleAuthorizeChecks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		authReq, err := op.ParseAuthorizeRequest(r, p.console.provider.Decoder())
		if err != nil || authReq.ResponseType != oidc.ResponseTypeCode {
			next.ServeHTTP(w, r)
			return
		}
		cl, ok := p.console.store.clients[authReq.ClientID]
		if !ok || !slices.Contains(cl.redirectURIs, authReq.RedirectURI) {
			next.ServeHTTP(w, r)
			return
		}
		var desc string
		switch org := r.Form.Get("orgId"); {
		case authReq.CodeChallenge == "" || authReq.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
			desc = "PKCE required: code_challenge with code_challenge_method=S256"
		case org == "":
			desc = "orgId required: the organization to sign in to"
		case org != p.consoleOrgID:
			desc = "orgId " + strconv.Quote(org) + " is not an organization of this console"
		}
		if desc != "" {
			p.log.Info("dev IdP: console authorization refused", "client_id", authReq.ClientID, "reason", desc)
			op.AuthRequestError(w, r, authReq, oidc.ErrInvalidRequest().WithDescription("%s", desc), p.console.provider)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// consoleClientAuth authenticates the public client as CSP does: the request
// must carry "Authorization: Basic base64(<client id>:)" with an empty
// secret for a registered client, and no secret in the form either; a
// client_id in the form must agree. Anything else is 401 invalid_client.
// op then sees a plain public-client request (client_id in the form, no
// Authorization header, no client_secret) and does the OAuth part: code,
// PKCE verifier, refresh token, revocation.
func (p *IdP) consoleClientAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			consoleInvalidClient(w, "client authentication required: Authorization: Basic base64(client_id:)")
			return
		}
		if _, known := p.console.store.clients[id]; !known || secret != "" {
			p.log.Info("dev IdP: console client authentication failed", "client_id", id)
			consoleInvalidClient(w, "unknown client or non-empty secret (CSP public clients send an empty secret)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "cannot parse form"})
			return
		}
		form := url.Values{}
		for k, v := range r.PostForm {
			form[k] = slices.Clone(v)
		}
		if cid := form.Get("client_id"); cid != "" && cid != id {
			consoleInvalidClient(w, "client_id does not match the Authorization header")
			return
		}
		if form.Get("client_secret") != "" {
			consoleInvalidClient(w, "CSP public clients send an empty client_secret")
			return
		}
		form.Del("client_secret")
		form.Del("client_assertion")
		form.Del("client_assertion_type")
		form.Set("client_id", id)

		body := form.Encode()
		r2 := r.Clone(r.Context())
		r2.Header.Del("Authorization")
		r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r2.URL.RawQuery = "" // parameters count only in the body
		r2.Form, r2.PostForm = nil, nil
		r2.Body = io.NopCloser(strings.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
		next.ServeHTTP(w, r2)
	})
}

// consoleInvalidClient answers 401 {"error":"invalid_client"}, as CSP does.
func consoleInvalidClient(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="csp"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setConsoleUserinfo fills CSP's ID token and userinfo claims: sub, email,
// given_name, family_name, context_name (the user's organization) and acct,
// all strings.
func setConsoleUserinfo(info *oidc.UserInfo, u User, defaultOrg string) {
	info.Subject = u.Username
	info.Email = u.consoleEmail()
	info.GivenName, info.FamilyName = u.consoleNames()
	info.AppendClaims("context_name", u.consoleOrg(defaultOrg))
	info.AppendClaims("acct", u.Acct)
}

// ConsoleURL returns the CSP console URL, e.g. "http://127.0.0.1:5556" (no
// trailing slash): Gatehouse's consoleEndpoint for the vmwareCloudServices
// provider. The CSP endpoints below it are served only when Config.ConsoleOrgID
// is set.
func (p *IdP) ConsoleURL() string { return p.consoleURL }

// ConsoleSigningKey returns the key ID and RSA private key that sign CSP ID
// tokens (RS256); it is not the VCF SSO key. Without Config.ConsoleOrgID it
// returns "" and nil.
func (p *IdP) ConsoleSigningKey() (kid string, key *rsa.PrivateKey) {
	if p.console == nil {
		return "", nil
	}
	return p.console.store.kid, p.console.store.key
}
