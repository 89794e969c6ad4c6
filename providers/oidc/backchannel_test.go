package oidc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// TestVerifyLogoutToken is a table of logout tokens signed by the fake
// IdP's published key (unless the row says otherwise): each is accepted or
// refused for the reason the row names.
func TestVerifyLogoutToken(t *testing.T) {
	f := newFakeIdP(t)
	p := f.provider(t, nil)
	other := devidptest.NewKey(t, "k1") // same kid, another key: a bad signature
	claims := func(mutate func(c map[string]any)) map[string]any {
		now := time.Now()
		c := map[string]any{
			"iss": f.issuer(), "aud": testClient, "iat": now.Unix(), "jti": "jti-1",
			"sub": "alice", "sid": "sid-1",
			"events": map[string]any{providers.BackchannelLogoutEvent: map[string]any{}},
		}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	cases := []struct {
		name  string
		token func() string
		want  string // "" = accepted
	}{
		{"good", func() string { return f.key.Sign(t, jose.RS256, claims(nil)) }, ""},
		{"only sid", func() string { return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { delete(c, "sub") })) }, ""},
		{"wrong iss", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { c["iss"] = "https://other.example" }))
		}, "iss"},
		{"wrong aud", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { c["aud"] = "someone-else" }))
		}, "aud"},
		{"nonce present", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { c["nonce"] = testNonce }))
		}, "nonce"},
		{"no events", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { delete(c, "events") }))
		}, "events"},
		{"no sub or sid", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }))
		}, "neither"},
		{"iat in the future", func() string {
			return f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }))
		}, "future"},
		{"bad signature", func() string { return other.Sign(t, jose.RS256, claims(nil)) }, "signature"},
		{"tampered payload", func() string {
			parts := strings.Split(f.key.Sign(t, jose.RS256, claims(nil)), ".")
			evil := strings.Split(f.key.Sign(t, jose.RS256, claims(func(c map[string]any) { c["sub"] = "bob" })), ".")
			return parts[0] + "." + evil[1] + "." + parts[2]
		}, "signature"},
		{"other alg", func() string { return f.key.Sign(t, jose.PS256, claims(nil)) }, "RS256"},
		{"not a JWT", func() string { return "not-a-token" }, "compact"},
		{"empty", func() string { return "" }, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.VerifyLogoutToken(context.Background(), tc.token())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Issuer != f.issuer() || got.SessionID != "sid-1" || got.JTI != "jti-1" {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
