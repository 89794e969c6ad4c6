package server

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// SignOut is a provider environment's signOut block: what POST
// /:provider/logout asks of the IdP besides clearing the cookies.
type SignOut struct {
	// KeepIdPSession is signOut.endSession: false. Logout then returns no
	// RP-initiated logout URL and no <provider>-id-token cookie is kept.
	KeepIdPSession bool
	// PostLogoutRedirectURL is signOut.postLogoutRedirectUrl; "" means
	// app.baseUrl.
	PostLogoutRedirectURL string
}

// logoutRequest gathers what the provider needs at logout from the
// request's cookies and the env's signOut block. It reports false when the
// browser carries no session cookie at all: there is nothing to revoke and
// no session to end, so the provider is not asked.
func (s *Server) logoutRequest(r *http.Request, rt *envRuntime) (providers.LogoutRequest, bool) {
	req := providers.LogoutRequest{RefreshToken: rt.jar.get(r, rt.jar.refreshName())}
	if rt.endSession() {
		req.IDTokenHint = s.idTokenHint(r, rt)
	}
	if req.RefreshToken == "" && req.IDTokenHint == "" {
		return req, false
	}
	if rt.endSession() {
		req.EndSession = true
		req.PostLogoutRedirectURI = rt.SignOut.PostLogoutRedirectURL
		if req.PostLogoutRedirectURI == "" {
			req.PostLogoutRedirectURI = s.opts.AppBaseURL
		}
		req.State = randomState()
	}
	return req, true
}

// randomState is 16 random bytes, base64url: the logout request's state.
// Gatehouse does not check it on return (the IdP redirects to the app, not
// to Gatehouse); it is there because some IdPs require one.
func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
