package oidc

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
)

// TestDecode: the defaults are filled in once, here; a wrong
// tokenEndpointAuthMethod is a problem at its key.
func TestDecode(t *testing.T) {
	s := &providertest.Settings{Values: map[string]any{"metadataUrl": "https://idp.example/", "clientId": "c", "clientSecret": "s"}}
	c := Decode(s)
	if c.TokenEndpointAuthMethod != AuthMethodBasic || c.TokenSignedResponseAlg != "RS256" || c.Timeout != providers.DefaultTimeout || c.IdPTimeout() != providers.DefaultTimeout || len(s.Problems) > 0 {
		t.Errorf("defaults: %+v %v", c, s.Problems)
	}
	s = &providertest.Settings{Values: map[string]any{
		"tokenEndpointAuthMethod": "private_key_jwt", "tokenSignedResponseAlg": "ES256", "timeout": 3 * time.Second,
		"startUrlSearchParams": map[string]string{"acr_values": "2fa"}, "prompt": "auto",
	}}
	c = Kind.Decode(s).(Config)
	if c.TokenEndpointAuthMethod != AuthMethodBasic || c.TokenSignedResponseAlg != "ES256" || c.IdPTimeout() != 3*time.Second ||
		c.Prompt != "auto" || c.StartURLSearchParams["acr_values"] != "2fa" ||
		!slices.Equal(s.Problems, []string{`tokenEndpointAuthMethod: must be "client_secret_basic" or "client_secret_post", got "private_key_jwt"`}) {
		t.Errorf("set: %+v %v", c, s.Problems)
	}
	if (Config{}).IdPTimeout() != providers.DefaultTimeout {
		t.Error("zero Config's timeout")
	}
}

// TestOpen: Open takes the provider id, callback URL and client from the
// options; it contacts no IdP.
func TestOpen(t *testing.T) {
	c := Config{MetadataURL: "http://127.0.0.1:1/", ClientID: "c", ClientSecret: "s"}
	p, err := c.Open(providers.OpenOptions{ProviderID: "oidc", CallbackURL: "http://b/api/auth/oidc/handler/frame"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*Provider).cfg; got.ProviderID != "oidc" || got.CallbackURL != "http://b/api/auth/oidc/handler/frame" {
		t.Errorf("opened with %+v", got)
	}
	if _, err := (Config{}).Open(providers.OpenOptions{ProviderID: "oidc"}); err == nil {
		t.Error("an empty Config opened")
	}
}
