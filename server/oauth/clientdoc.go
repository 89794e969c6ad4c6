package oauth

import (
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
)

// CLIRedirectURI is where `backstage-cli auth login` listens for the code
// (spec §2.14): 127.0.0.1:8055 only.
const CLIRedirectURI = "http://127.0.0.1:8055/callback"

// cliClient is the Backstage CLI's client metadata document, served at
// /.well-known/oauth-client/cli.json and resolved from memory when the CLI
// presents its client_id (Backstage fetches its own URL over the network).
// Unlike Backstage's it lists the refresh_token grant, because Gatehouse
// enforces a document's grant_types and the CLI refreshes.
func (c Config) cliClient() *cimd.Client {
	return &cimd.Client{
		ID:            c.CLIClientID(),
		Name:          "Backstage CLI",
		RedirectURIs:  []string{CLIRedirectURI},
		ResponseTypes: []string{cimd.ResponseTypeCode},
		GrantTypes:    []string{cimd.GrantAuthorizationCode, cimd.GrantRefreshToken},
		Scope:         "openid offline_access",
	}
}

// Scopes Gatehouse grants (spec §6.19): openid always, offline_access when
// refresh tokens are on.
const (
	ScopeOpenID        = "openid"
	ScopeOfflineAccess = "offline_access"
)

// grantedScope is what is granted of a requested scope string: the
// requested scopes Gatehouse knows, in request order without repeats;
// unknown ones are dropped rather than refused (MCP clients ask for
// scopes of their own) and never echoed. "openid" when nothing remains.
func (c Config) grantedScope(requested string) string {
	var out []string
	for _, sc := range strings.Fields(requested) {
		known := sc == ScopeOpenID || (sc == ScopeOfflineAccess && c.Refresh.Enabled)
		if known && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return ScopeOpenID
	}
	return strings.Join(out, " ")
}

// hasScope reports whether the space-separated scope list holds sc.
func hasScope(scope, sc string) bool { return slices.Contains(strings.Fields(scope), sc) }
