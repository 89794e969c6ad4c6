package providers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCheckLogoutTokenClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := func() map[string]any {
		return map[string]any{
			"iss": "https://idp", "aud": "gatehouse", "iat": float64(now.Unix() - 5), "jti": "j1",
			"sub": "alice", "sid": "s1", "events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
		}
	}
	cases := []struct {
		name   string
		change func(m map[string]any)
		want   string // "" = accepted
	}{
		{"good", func(map[string]any) {}, ""},
		{"aud array", func(m map[string]any) { m["aud"] = []any{"other", "gatehouse"} }, ""},
		{"only sid", func(m map[string]any) { delete(m, "sub") }, ""},
		{"only sub", func(m map[string]any) { delete(m, "sid") }, ""},
		{"iat within skew", func(m map[string]any) { m["iat"] = float64(now.Add(time.Minute).Unix()) }, ""},
		{"wrong iss", func(m map[string]any) { m["iss"] = "https://evil" }, "iss"},
		{"no iss", func(m map[string]any) { delete(m, "iss") }, "iss"},
		{"wrong aud", func(m map[string]any) { m["aud"] = "other" }, "aud"},
		{"aud array without us", func(m map[string]any) { m["aud"] = []any{"a", "b"} }, "aud"},
		{"no iat", func(m map[string]any) { delete(m, "iat") }, "iat"},
		{"iat future", func(m map[string]any) { m["iat"] = float64(now.Add(time.Hour).Unix()) }, "future"},
		{"expired", func(m map[string]any) { m["exp"] = float64(now.Add(-time.Hour).Unix()) }, "expired"},
		{"no jti", func(m map[string]any) { delete(m, "jti") }, "jti"},
		{"no events", func(m map[string]any) { delete(m, "events") }, "events"},
		{"other event", func(m map[string]any) { m["events"] = map[string]any{"x": map[string]any{}} }, "events"},
		{"event not object", func(m map[string]any) { m["events"] = map[string]any{BackchannelLogoutEvent: "yes"} }, "not a JSON object"},
		{"nonce", func(m map[string]any) { m["nonce"] = "n" }, "nonce"},
		{"neither sub nor sid", func(m map[string]any) { delete(m, "sub"); delete(m, "sid") }, "neither"},
		{"empty sub and sid", func(m map[string]any) { m["sub"], m["sid"] = "", "" }, "neither"},
		{"sub not a string", func(m map[string]any) { m["sub"] = 7 }, "expected types"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.change(m)
			b, _ := json.Marshal(m)
			got, err := CheckLogoutTokenClaims(b, "https://idp", "gatehouse", now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Issuer != "https://idp" || got.IssuedAt.After(now.Add(time.Minute)) || got.JTI != "j1" {
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

// FuzzCheckLogoutTokenClaims: whatever the payload, the check answers
// without panicking, and what it accepts names someone and is not from
// the future.
func FuzzCheckLogoutTokenClaims(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add([]byte(`{"iss":"https://idp","aud":"gatehouse","iat":1799999990,"jti":"j","sub":"a","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`))
	f.Add([]byte(`{"iss":"https://idp","aud":["gatehouse"],"iat":1e300,"jti":"j","sid":"s","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`))
	f.Add([]byte(`{"iat":-1e308,"exp":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := CheckLogoutTokenClaims(payload, "https://idp", "gatehouse", now)
		if err != nil {
			return
		}
		if c.Subject == "" && c.SessionID == "" {
			t.Fatal("accepted a token naming no one")
		}
		if c.IssuedAt.After(now.Add(LogoutTokenSkew)) {
			t.Fatal("accepted a token from the future")
		}
	})
}
