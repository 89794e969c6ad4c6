package config

import "net/url"

// signOutKeys are the keys of a provider environment's signOut block.
var signOutKeys = []string{"endSession", "postLogoutRedirectUrl"}

// SignOut is a provider environment's signOut block: RP-initiated logout
// (OpenID Connect RP-Initiated Logout 1.0) at POST /:provider/logout.
type SignOut struct {
	// EndSession is signOut.endSession. Nil means unset, which is on: logout
	// answers a logoutUrl when the IdP has an end_session_endpoint.
	EndSession *bool
	// PostLogoutRedirectURL is signOut.postLogoutRedirectUrl, an absolute
	// http(s) URL; "" means app.baseUrl.
	PostLogoutRedirectURL string
}

// signOut decodes signOut, with a problem at the key path for a wrong type,
// an unknown key, or a redirect URL that is not an absolute http(s) URL.
func (d *decoder) signOut(v any, path string) SignOut {
	var so SignOut
	m, ok := d.mapOf(v, path)
	if !ok {
		return so
	}
	d.unknownKeys(m, path, signOutKeys)
	if b, ok := d.boolean(m["endSession"], joinPath(path, "endSession")); ok {
		so.EndSession = &b
	}
	p := joinPath(path, "postLogoutRedirectUrl")
	if s, ok := d.str(m["postLogoutRedirectUrl"], p, false); ok {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.add(p, "must be an absolute http(s) URL")
		} else {
			so.PostLogoutRedirectURL = s
		}
	}
	return so
}
