package oauth

import "testing"

func TestGrantedScope(t *testing.T) {
	on, off := testConfig(), testConfig()
	off.Refresh.Enabled = false
	for _, tc := range []struct {
		cfg       Config
		requested string
		want      string
	}{
		{on, "", "openid"},
		{on, "openid offline_access", "openid offline_access"},
		{on, "offline_access", "offline_access"},
		{off, "openid offline_access", "openid"},
		{on, "profile  openid mcp:tools openid", "openid"},
		{on, "email", "openid"},
	} {
		if got := tc.cfg.grantedScope(tc.requested); got != tc.want {
			t.Errorf("grantedScope(%q, refresh %v) = %q, want %q", tc.requested, tc.cfg.Refresh.Enabled, got, tc.want)
		}
	}
	if !hasScope("openid offline_access", "offline_access") || hasScope("openid", "offline_access") {
		t.Error("hasScope")
	}
	if c := testConfig().cliClient(); c.ID != testAuthBase+"/.well-known/oauth-client/cli.json" || !c.AllowsRedirectURI("http://127.0.0.1:8055/callback") {
		t.Errorf("cli client %+v", c)
	}
}
