package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestIssueAccessTokenClaims(t *testing.T) {
	users := NewMemoryUserInfoStore()
	iss, err := NewIssuer(Options{Issuer: "https://bs.example.com/api/auth", UserInfo: users})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		audience []string
		wantAud  string
	}{
		{"backstage", nil, `"aud":"backstage"`},
		{"resource", []string{"backstage", "https://mcp.example.com/mcp"}, `"aud":["backstage","https://mcp.example.com/mcp"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := iss.IssueAccessToken(ctx, "user:default/alice", tc.audience)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok.Token, ".")
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			p := string(payload)
			if !strings.HasPrefix(p, `{"iss":"https://bs.example.com/api/auth","sub":"user:default/alice",`+tc.wantAud+`,"iat":`) {
				t.Errorf("payload %s", p)
			}
			var m map[string]any
			json.Unmarshal(payload, &m)
			if _, ok := m["ent"]; ok {
				t.Errorf("ent in an access token: %s", p)
			}
			v, err := iss.VerifyUserToken(ctx, tok.Token)
			if err != nil || v.Sub != "user:default/alice" {
				t.Fatalf("verify: %v %+v", err, v)
			}
			limited, err := LimitedUserToken(tok.Token)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := iss.VerifyUserToken(ctx, limited); err != nil {
				t.Errorf("limited token: %v", err)
			}
		})
	}
	if _, err := users.GetUserInfo(ctx, "user:default/alice"); err == nil {
		t.Error("IssueAccessToken recorded user info")
	}
	if _, err := iss.IssueAccessToken(ctx, "user:default/alice", []string{"https://mcp.example.com"}); err == nil {
		t.Error("an audience without backstage was accepted")
	}
	if _, err := iss.IssueAccessToken(ctx, "alice", nil); err == nil {
		t.Error("an invalid entity ref was accepted")
	}
}
