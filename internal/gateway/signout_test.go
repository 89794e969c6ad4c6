package gateway

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/server"
)

// TestBuildSignOut: a provider env's signOut block reaches the server's
// Environment; unset, logout ends the IdP session and returns to app.baseUrl.
func TestBuildSignOut(t *testing.T) {
	gw := build(t, load(t, base+`auth:
  session: {secret: test-secret}
  providers:
    vcfsso:
      development:
        metadataUrl: 'http://127.0.0.1:1/acs/t/CUSTOMER/'
        clientId: c
        clientSecret: s
        signOut: {endSession: false, postLogoutRedirectUrl: 'https://app.example/bye'}
      production: {metadataUrl: 'http://127.0.0.1:1/acs/t/CUSTOMER/', clientId: c, clientSecret: s}
`), Options{})
	for env, want := range map[string]server.SignOut{
		"development": {KeepIdPSession: true, PostLogoutRedirectURL: "https://app.example/bye"},
		"production":  {},
	} {
		pe, ok := gw.Env("vcfsso", env)
		if !ok || pe.SignOut != want {
			t.Errorf("%s: SignOut = %+v, want %+v", env, pe.SignOut, want)
		}
	}
}
