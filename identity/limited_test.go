package identity_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// TestLimitedUserTokenTable: LimitedUserToken rebuilds the limited-user
// token from a full one byte for byte, and refuses with an InputError
// whatever is not a Backstage user token whose uip can be a signature.
func TestLimitedUserTokenTable(t *testing.T) {
	iss, _, _ := newIssuer(t, false)
	tok, err := iss.IssueToken(context.Background(), identity.Claims{Sub: "user:default/alice", Extra: map[string]any{"email": "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Token, ".")
	enc := base64.RawURLEncoding.EncodeToString
	hdr := func(h string) string { return enc([]byte(h)) }
	pl := func(p string) string { return enc([]byte(p)) }
	es256 := hdr(`{"typ":"vnd.backstage.user","alg":"ES256","kid":"k1"}`)

	// The limited token of the issued one verifies as a limited-user token.
	limited, err := identity.LimitedUserToken(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := iss.VerifyUserToken(context.Background(), limited); err != nil || v.Type != identity.TypeLimitedUser || v.Sub != "user:default/alice" {
		t.Fatalf("limited token %q: %+v, %v", limited, v, err)
	}

	for name, c := range map[string]struct {
		token, want string // want "" means an InputError
	}{
		"rebuilt from parts": {
			token: es256 + "." + pl(`{"x":1,"sub":"user:default/b","iat":10,"exp":20,"uip":"c2ln"}`) + ".AAAA",
			want:  hdr(`{"typ":"vnd.backstage.limited-user","alg":"ES256","kid":"k1"}`) + "." + pl(`{"sub":"user:default/b","iat":10,"exp":20}`) + ".c2ln",
		},
		"RS256 and a quoted kid": {
			token: hdr(`{"alg":"RS256","kid":"a\"b"}`) + "." + pl(`{"sub":"u","iat":1,"exp":2,"uip":"-_"}`) + ".AAAA",
			want:  hdr(`{"typ":"vnd.backstage.limited-user","alg":"RS256","kid":"a\"b"}`) + "." + pl(`{"sub":"u","iat":1,"exp":2}`) + ".-_",
		},
		"two parts":           {token: parts[0] + "." + parts[1]},
		"four parts":          {token: tok.Token + ".x"},
		"empty":               {token: ""},
		"header not base64":   {token: "!!." + parts[1] + "." + parts[2]},
		"payload not base64":  {token: parts[0] + ".!!." + parts[2]},
		"header not JSON":     {token: hdr("nope") + "." + parts[1] + "." + parts[2]},
		"payload not JSON":    {token: parts[0] + "." + pl("nope") + "." + parts[2]},
		"no uip":              {token: parts[0] + "." + pl(`{"sub":"u","iat":1,"exp":2}`) + "." + parts[2]},
		"empty uip":           {token: parts[0] + "." + pl(`{"sub":"u","iat":1,"exp":2,"uip":""}`) + "." + parts[2]},
		"uip with a dot":      {token: parts[0] + "." + pl(`{"sub":"u","iat":1,"exp":2,"uip":"a.b"}`) + "." + parts[2]},
		"uip not base64url":   {token: parts[0] + "." + pl(`{"sub":"u","iat":1,"exp":2,"uip":"a+b/"}`) + "." + parts[2]},
		"iat not a number":    {token: parts[0] + "." + pl(`{"sub":"u","iat":"1","exp":2,"uip":"AAAA"}`) + "." + parts[2]},
		"alg not a string":    {token: hdr(`{"alg":5,"kid":"k"}`) + "." + parts[1] + "." + parts[2]},
		"padded header":       {token: parts[0] + "=." + parts[1] + "." + parts[2]},
		"uip of another type": {token: parts[0] + "." + pl(`{"sub":"u","iat":1,"exp":2,"uip":7}`) + "." + parts[2]},
	} {
		got, err := identity.LimitedUserToken(c.token)
		switch {
		case c.want == "" && !autherr.Is(err, autherr.NameInput):
			t.Errorf("%s: LimitedUserToken = %q, %v; want an InputError", name, got, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("%s: LimitedUserToken = %q, %v; want %q", name, got, err, c.want)
		}
	}
}
