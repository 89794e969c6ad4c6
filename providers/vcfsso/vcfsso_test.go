package vcfsso_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers/oidc"
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
