package vcfsso_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
)

// TestNewIsOIDC: New opens an oidc provider, so it applies oidc's config
// checks. (Its ID-token and userinfo-fallback behaviour is tested with
// oidc's tables, which run through vcfsso.New too.)
func TestNewIsOIDC(t *testing.T) {
	if _, err := vcfsso.New(oidc.Config{MetadataURL: "https://vcf.example/acs/t/CUSTOMER", ClientID: "c", CallbackURL: "http://cb"}); err != nil {
		t.Errorf("New: %v", err)
	}
	if _, err := vcfsso.New(oidc.Config{ClientID: "c"}); err == nil || !strings.Contains(err.Error(), "metadataUrl, clientId and callbackUrl are required") {
		t.Errorf("New without metadataUrl: %v", err)
	}
}

// TestKindDecodesOIDCAndOpensVCFSSO: a vcfsso block reads oidc's keys and
// opens a provider named vcfsso, whatever id the options carry.
func TestKindDecodesOIDCAndOpensVCFSSO(t *testing.T) {
	s := &providertest.Settings{Values: map[string]any{"metadataUrl": "https://vcf.example/acs/t/CUSTOMER", "clientId": "c", "clientSecret": "s"}}
	c, ok := vcfsso.Kind.Decode(s).(vcfsso.Config)
	if !ok || c.ClientID != "c" || c.TokenSignedResponseAlg != "RS256" || vcfsso.Kind.DefaultTransform != vcfsso.DefaultTransform {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := c.Open(providers.OpenOptions{ProviderID: vcfsso.ID, CallbackURL: "http://b/api/auth/vcfsso/handler/frame"}); err != nil {
		t.Errorf("Open: %v", err)
	}
}
