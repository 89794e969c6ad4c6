package vmwarecloud

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
)

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{OrganizationID: "o", CallbackURL: "http://x/cb"}, "Missing required config value at 'clientId'"},
		{Config{ClientID: "c", CallbackURL: "http://x/cb"}, "Missing required config value at 'organizationId'"},
		{Config{ClientID: "c", OrganizationID: "o", CallbackURL: "http://x/cb", ConsoleEndpoint: "console.example"}, `consoleEndpoint "console.example" is not an http(s) URL`},
	} {
		if _, err := New(c.cfg); err == nil || err.Error() != c.want {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestAuthorizationURL(t *testing.T) {
	p, err := New(Config{ClientID: "app id", OrganizationID: "org-1", CallbackURL: "https://b.example/api/auth/vmwareCloudServices/handler/frame"})
	if err != nil {
		t.Fatal(err)
	}
	var txn providers.Transaction
	u, err := p.AuthorizationURL(context.Background(), providers.StartRequest{State: "6e6f", Scope: "openid offline_access", Transaction: &txn})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://console.cloud.vmware.com/csp/gateway/discovery?response_type=code&redirect_uri=https%3A%2F%2Fb.example%2Fapi%2Fauth%2FvmwareCloudServices%2Fhandler%2Fframe&scope=openid%20offline_access&code_challenge=") ||
		!strings.HasSuffix(u, "&code_challenge_method=S256&state=6e6f&client_id=app%20id&orgId=org-1") {
		t.Errorf("authorize URL = %s", u)
	}
	if len(txn.CodeVerifier) != 43 {
		t.Errorf("verifier %q is not base64url of 32 bytes", txn.CodeVerifier)
	}
	if _, err := url.Parse(u); err != nil {
		t.Error(err)
	}
}
