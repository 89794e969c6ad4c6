package providers

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestCheckIDTokenClaims covers the shapes the provider tests' IdP does not
// produce; the providers' own tests run the rules against real sign-ins.
func TestCheckIDTokenClaims(t *testing.T) {
	for _, c := range []struct {
		claims string
		want   string // "" = accepted
	}{
		{`{"iat":1,"aud":"c"}`, ""},
		{`{"iat":1,"aud":["c"]}`, ""},
		{`{"iat":1,"aud":["c","d"],"azp":"c"}`, ""},
		{`{"aud":"c"}`, "ID token has no iat claim"},
		{`{"iat":null,"aud":"c"}`, "ID token has no iat claim"},
		{`{"iat":"1","aud":"c"}`, "ID token iat claim is not a number"},
		{`{"iat":1,"aud":["c","d"]}`, "ID token has several audiences but no azp claim"},
		{`{"iat":1,"aud":["c","d"],"azp":"d"}`, `ID token azp "d" is not this client`},
		{`{"iat":1,"aud":"c","azp":null}`, "ID token azp claim is not a string"},
		{`{"iat":1,"aud":"c","azp":""}`, `ID token azp "" is not this client`},
	} {
		var claims map[string]any
		if err := json.Unmarshal([]byte(c.claims), &claims); err != nil {
			t.Fatal(err)
		}
		err := CheckIDTokenClaims(claims, "c")
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.claims, err, c.want)
		}
	}
	// Claims decoded with UseNumber carry iat as json.Number.
	if err := CheckIDTokenClaims(map[string]any{"iat": json.Number("1"), "aud": "c"}, "c"); err != nil {
		t.Errorf("json.Number iat: %v", err)
	}
}

func TestCheckResponseIssuerClipsLongValues(t *testing.T) {
	err := CheckResponseIssuer(url.Values{"iss": {strings.Repeat("é", 500)}}, "https://idp.example", false)
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), "…") {
		t.Errorf("long iss: %v", err)
	}
	if err := CheckResponseIssuer(url.Values{"iss": {"https://idp.example"}}, "https://idp.example", true); err != nil {
		t.Errorf("matching iss: %v", err)
	}
}
