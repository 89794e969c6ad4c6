// Package providers defines what an identity provider does for Gatehouse:
// build the authorization URL, finish the callback, and optionally refresh and
// log out. Implementations live in sub-packages (oidc, vcfsso, vmwarecloud),
// each with a Config that opens it, in the style of Dex connectors.
//
// A provider never touches cookies or HTTP responses: the server owns the
// Backstage wire protocol, and a provider only talks to its IdP.
package providers

import (
	"context"
	"net/url"
)

// Profile is the Backstage user profile shown by the frontend.
type Profile struct {
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Picture     string `json:"picture,omitempty"`
}

// Session is what the IdP's token endpoint answered.
type Session struct {
	AccessToken  string
	TokenType    string
	IDToken      string
	RefreshToken string
	// Scope is the token response's scope, as the IdP sent it.
	Scope string
	// ExpiresInSeconds is the token response's expires_in; 0 when absent.
	ExpiresInSeconds int64
}

// Result is the outcome of a successful authentication or refresh: the
// tokens plus every claim the provider learned about the user. Profile
// transforms and sign-in resolvers read it; nothing writes it after the
// provider returns.
type Result struct {
	Session Session
	// IDTokenClaims are the claims of the ID token, verified as far as the
	// provider verifies them (see each provider's doc). Nil when no ID token.
	IDTokenClaims map[string]any
	// UserInfo is the IdP's userinfo answer. Nil when the provider has none.
	UserInfo map[string]any
	// Attributes are facts the provider adds from its config for transforms
	// to check, as Backstage's fullProfile extras (vmwareCloudServices puts
	// "organizationId" here).
	Attributes map[string]any
}

// Scopes says which scopes a provider always asks for and whether the granted
// scope is persisted in the <provider>-granted-scope cookie (true for OIDC,
// false for VMware Cloud Services), as Backstage's OAuth scope manager does.
type Scopes struct {
	Required []string
	Persist  bool
}

// StartRequest is what /start hands a provider.
type StartRequest struct {
	// State is the Backstage hex-encoded OAuth state to pass to the IdP verbatim.
	State string
	// Scope is the space-joined scope to request.
	Scope string
	// Transaction is filled by the provider with the secrets it needs back at
	// the callback (nonce, PKCE verifier). The server seals them in a cookie,
	// so there is no server-side session.
	Transaction *Transaction
}

// Transaction holds the per-login secrets that travel sealed in a cookie from
// /start to /handler/frame.
type Transaction struct {
	Nonce        string `json:"n,omitempty"`
	CodeVerifier string `json:"v,omitempty"`
}

// CallbackRequest is what /handler/frame hands a provider.
type CallbackRequest struct {
	// Params are the callback parameters: the query for GET, the form for POST.
	Params url.Values
	// Transaction is what the provider put in at Start, unsealed.
	Transaction Transaction
}

// RefreshRequest is what /refresh hands a provider.
type RefreshRequest struct {
	RefreshToken string
	// Scope is the scope computed for this refresh (requested + granted +
	// required + additional). Providers may ignore it, as OIDC does.
	Scope string
}

// Provider is one configured environment of one provider id.
type Provider interface {
	// Scopes describes the provider's scope handling.
	Scopes() Scopes
	// AuthorizationURL returns the IdP URL that /start redirects to, and
	// fills req.Transaction.
	AuthorizationURL(ctx context.Context, req StartRequest) (string, error)
	// Authenticate finishes the callback: it checks the IdP's answer,
	// exchanges the code and verifies what came back.
	Authenticate(ctx context.Context, req CallbackRequest) (*Result, error)
}

// Refresher is implemented by providers that can refresh a session with the
// refresh token from the <provider>-refresh-token cookie.
type Refresher interface {
	Refresh(ctx context.Context, req RefreshRequest) (*Result, error)
}

// LogoutHandler is implemented by providers that do something at /logout
// beyond clearing cookies, such as revoking the refresh token or sending the
// browser to the IdP's end_session_endpoint.
type LogoutHandler interface {
	// Logout ends the session at the IdP. It returns a logout URL for the
	// frontend to navigate to, or "" for none. A logout URL may come back
	// together with an error (say, a failed revocation): the caller still
	// hands the URL to the frontend.
	Logout(ctx context.Context, req LogoutRequest) (logoutURL string, err error)
}

// LogoutRequest is what the server knows at POST /:provider/logout.
type LogoutRequest struct {
	// RefreshToken is from the <provider>-refresh-token cookie; "" when the
	// browser sent none.
	RefreshToken string
	// IDTokenHint is the latest ID token of the session (the sealed
	// <provider>-id-token cookie), for OpenID Connect RP-Initiated Logout's
	// id_token_hint; "" when unknown.
	IDTokenHint string
	// EndSession asks for an RP-initiated logout URL when the IdP has an
	// end-session endpoint (signOut.endSession, default true).
	EndSession bool
	// PostLogoutRedirectURI is where the IdP sends the browser after its
	// logout: signOut.postLogoutRedirectUrl, else app.baseUrl.
	PostLogoutRedirectURI string
	// State is an opaque random value the IdP echoes to the post-logout
	// redirect.
	State string
}

// Discoverer is implemented by providers that read their IdP's metadata
// (the OpenID discovery document and the keys it names) before they can
// serve a request. Discover fetches it now rather than at the first request:
// a nil error guarantees that later requests do not fail for want of
// discovery, and an error says why the IdP could not be discovered. A
// provider that implements it retries a failed discovery on its own, so
// callers may use Discover for start-up logging and readiness probes
// without affecting requests. Providers without this capability (such as
// vmwareCloudServices, whose endpoints are fixed paths) need nothing before
// their first request.
type Discoverer interface {
	Discover(ctx context.Context) error
}
