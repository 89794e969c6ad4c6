package identity_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// FuzzVerifyUserToken feeds /v1/userinfo's token parser (VerifyUserToken,
// UserInfo) and the cookie path's LimitedUserToken arbitrary strings,
// seeded with real tokens this issuer signed. Whatever the input: no panic;
// a rejection is an AuthenticationError (or, for UserInfo, NotFound for a
// verified user with no record) whose message names no internals; and a
// token that verifies has a sub and has not expired.
func FuzzVerifyUserToken(f *testing.F) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_750_000_000, 0)}
	iss, err := identity.NewIssuer(identity.Options{
		Issuer: "http://localhost:7007/api/auth", Expiration: time.Hour,
		Keys: identity.NewMemoryKeyStore(), Now: clk.Now,
	})
	if err != nil {
		f.Fatal(err)
	}
	full, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"},
		Extra: map[string]any{"email": "alice@example.com"}})
	if err != nil {
		f.Fatal(err)
	}
	limited, err := identity.LimitedUserToken(full.Token)
	if err != nil {
		f.Fatal(err)
	}
	other, _, _ := newIssuer(f, false)
	foreign, err := other.IssueToken(ctx, identity.Claims{Sub: "user:default/mallory"})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(full.Token, ".")
	for _, seed := range []string{
		full.Token,
		limited,
		foreign.Token,
		parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user:default/admin","iat":1,"exp":99999999999}`)) + "." + parts[2],
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"not-a-token",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		v, err := iss.VerifyUserToken(ctx, token)
		if err == nil {
			if v.Sub == "" || !clk.Now().Before(v.ExpiresAt) || (v.Type != identity.TypeUser && v.Type != identity.TypeLimitedUser) {
				t.Fatalf("verified %q as %+v", token, v)
			}
		} else if !autherr.Is(err, autherr.NameAuthentication) || !strings.HasPrefix(err.Error(), "Failed to verify user token: ") {
			t.Fatalf("VerifyUserToken(%q) = %v, want an AuthenticationError", token, err)
		}
		if _, err := iss.UserInfo(ctx, token); err != nil && !autherr.Is(err, autherr.NameAuthentication) && !autherr.Is(err, autherr.NameNotFound) {
			t.Fatalf("UserInfo(%q) = %v", token, err)
		}
		if lt, err := identity.LimitedUserToken(token); err == nil && strings.Count(lt, ".") != 2 {
			t.Fatalf("LimitedUserToken(%q) = %q, not three parts", token, lt)
		} else if err != nil && !autherr.Is(err, autherr.NameInput) {
			t.Fatalf("LimitedUserToken(%q) = %v, want an InputError", token, err)
		}
	})
}
