package vmwarecloud

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
)

// TestDecode: the console and timeout defaults are filled in once, here;
// a consoleEndpoint loses its trailing slash.
func TestDecode(t *testing.T) {
	s := &providertest.Settings{Values: map[string]any{"clientId": "app", "organizationId": "org"}}
	c := Decode(s)
	if c.ConsoleEndpoint != DefaultConsoleEndpoint || c.IdPTimeout() != providers.DefaultTimeout || c.VerifySignature || len(s.Problems) > 0 {
		t.Errorf("defaults: %+v %v", c, s.Problems)
	}
	s = &providertest.Settings{Values: map[string]any{
		"clientId": "app", "organizationId": "org", "consoleEndpoint": "https://console.example/",
		"timeout": 2 * time.Second, "verifyIdTokenSignature": true, "jwksUrl": "https://console.example/jwks",
	}}
	c = Kind.Decode(s).(Config)
	if c.ConsoleEndpoint != "https://console.example" || c.IdPTimeout() != 2*time.Second || !c.VerifySignature || c.JWKSURL != "https://console.example/jwks" {
		t.Errorf("set: %+v", c)
	}
	if (Config{}).IdPTimeout() != providers.DefaultTimeout {
		t.Error("zero Config's timeout")
	}
	p, err := c.Open(providers.OpenOptions{ProviderID: ID, CallbackURL: "http://b/api/auth/vmwareCloudServices/handler/frame"})
	if err != nil || p.(*Provider).cfg.CallbackURL != "http://b/api/auth/vmwareCloudServices/handler/frame" {
		t.Errorf("Open: %v", err)
	}
}
