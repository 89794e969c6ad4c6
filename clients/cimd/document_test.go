package cimd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const docID = "https://client.example.net/oauth/client.json"

func TestParseDocumentValid(t *testing.T) {
	c, err := ParseDocument(docID, []byte(`{"client_id":"`+docID+`","client_name":"Test CIMD Client",
		"redirect_uris":["http://127.0.0.1:8055/callback","http://localhost/cb"],"scope":"openid offline_access",
		"grant_types":["authorization_code","refresh_token"],"response_types":["code"],
		"token_endpoint_auth_method":"none","client_uri":"https://client.example.net","logo_uri":"https://client.example.net/l.png"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != docID || c.Name != "Test CIMD Client" || c.Scope != "openid offline_access" ||
		!slices.Equal(c.RedirectURIs, []string{"http://127.0.0.1:8055/callback", "http://localhost/cb"}) ||
		!c.AllowsGrant(GrantRefreshToken) || !slices.Equal(c.ResponseTypes, []string{"code"}) ||
		c.ClientURI != "https://client.example.net" || c.LogoURI == "" {
		t.Errorf("client = %+v", c)
	}
	// Defaults: name = id, grant_types = [authorization_code], response_types = [code].
	c, err = ParseDocument(docID, []byte(`  {"client_id":"`+docID+`","redirect_uris":["cursor://x/cb"],"client_name":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != docID || !slices.Equal(c.GrantTypes, []string{GrantAuthorizationCode}) || c.AllowsGrant(GrantRefreshToken) ||
		!slices.Equal(c.ResponseTypes, []string{ResponseTypeCode}) {
		t.Errorf("defaults: %+v", c)
	}
	// Backstage's own cli.json (spec §2.3) is accepted.
	cli := "https://backstage.example.com/api/auth/.well-known/oauth-client/cli.json"
	if _, err := ParseDocument(cli, []byte(`{"client_id":"`+cli+`","client_name":"Backstage CLI","redirect_uris":["http://127.0.0.1:8055/callback"],"response_types":["code"],"grant_types":["authorization_code"],"token_endpoint_auth_method":"none","scope":"openid offline_access"}`)); err != nil {
		t.Errorf("cli.json: %v", err)
	}
}

func TestParseDocumentInvalid(t *testing.T) {
	const ok = `"client_id":"` + docID + `","redirect_uris":["http://127.0.0.1/cb"]`
	for _, tc := range []struct{ body, field string }{
		{``, "(document)"},
		{`null`, "(document)"},
		{`[]`, "(document)"},
		{`"x"`, "(document)"},
		{`{`, "(document)"},
		{`{"client_id":"` + docID + `"} trailing`, "(document)"},
		{`{}`, "client_id"},
		{`{"client_id":12}`, "client_id"},
		{`{"client_id":"https://client.example.net/oauth/client.json/"}`, "client_id"},
		{`{"client_id":"HTTPS://client.example.net/oauth/client.json"}`, "client_id"},
		{`{"client_id":"` + docID + `"}`, "redirect_uris"},
		{`{"client_id":"` + docID + `","redirect_uris":[]}`, "redirect_uris"},
		{`{"client_id":"` + docID + `","redirect_uris":"http://127.0.0.1/cb"}`, "redirect_uris"},
		{`{"client_id":"` + docID + `","redirect_uris":[12]}`, "redirect_uris[0]"},
		{`{"client_id":"` + docID + `","redirect_uris":["http://127.0.0.1/cb","not a url"]}`, "redirect_uris[1]"},
		{`{"client_id":"` + docID + `","redirect_uris":["http://127.0.0.1/cb#x"]}`, "redirect_uris[0]"},
		{`{"client_id":"` + docID + `","redirect_uris":["http://127.0.0.1/cb#"]}`, "redirect_uris[0]"},
		{`{"client_id":"` + docID + `","redirect_uris":["%zz"]}`, "redirect_uris[0]"},
		{`{` + ok + `,"client_secret":"s"}`, "client_secret"},
		{`{` + ok + `,"client_secret_expires_at":0}`, "client_secret_expires_at"},
		{`{` + ok + `,"token_endpoint_auth_method":"client_secret_basic"}`, "token_endpoint_auth_method"},
		{`{` + ok + `,"token_endpoint_auth_method":"private_key_jwt"}`, "token_endpoint_auth_method"},
		{`{` + ok + `,"token_endpoint_auth_method":5}`, "token_endpoint_auth_method"},
		{`{` + ok + `,"grant_types":["implicit"]}`, "grant_types"},
		{`{` + ok + `,"grant_types":["authorization_code","client_credentials"]}`, "grant_types"},
		{`{` + ok + `,"grant_types":[]}`, "grant_types"},
		{`{` + ok + `,"grant_types":"authorization_code"}`, "grant_types"},
		{`{` + ok + `,"response_types":["token"]}`, "response_types"},
		{`{` + ok + `,"response_types":["code id_token"]}`, "response_types"},
		{`{` + ok + `,"client_name":7}`, "client_name"},
		{`{` + ok + `,"scope":["openid"]}`, "scope"},
		{`{` + ok + `,"logo_uri":{}}`, "logo_uri"},
		{`{` + ok + `,"client_id":"` + docID + `"}`, "client_id"},
		{`{"client_id":"` + docID + `","Redirect_URIs":["http://127.0.0.1/cb"]}`, "redirect_uris"},
		{`{"client_id":"` + docID + `","redirect_uris":["http://127.0.0.1/cb"],"client_name":"\xff"}`, "(document)"},
		{"{\"client_id\":\"" + docID + "\",\"redirect_uris\":[\"http://127.0.0.1/cb\"],\"client_name\":\"\xff\"}", "(document)"},
	} {
		_, err := ParseDocument(docID, []byte(tc.body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: got %v, want a FieldError on %q", tc.body, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %q does not name %q", tc.body, err, tc.field)
		}
	}
	_, err := ParseDocument(docID, []byte(`{"client_id":"`+docID+`","redirect_uris":["http://x/cb"],"grant_types":["`+strings.Repeat("a", 500)+`"]}`))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("a long value is echoed in full: %v", err)
	}
}

// FuzzParseDocument: the parser of untrusted documents never panics, and
// whatever it accepts satisfies the guarantees Client documents.
func FuzzParseDocument(f *testing.F) {
	f.Add(docID, []byte(`{"client_id":"`+docID+`","redirect_uris":["http://127.0.0.1:8055/callback"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`))
	f.Add(docID, []byte(`null`))
	f.Add(docID, []byte(`{"client_id":"`+docID+`","redirect_uris":[1,{}],"client_secret":null}`))
	f.Add("", []byte(`{"client_id":"","redirect_uris":["a:"]}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		c, err := ParseDocument(id, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("error does not wrap ErrInvalidDocument: %v", err)
			}
			return
		}
		if c.ID != id || c.Name == "" || len(c.RedirectURIs) == 0 || len(c.GrantTypes) == 0 || len(c.ResponseTypes) == 0 {
			t.Fatalf("accepted client breaks its guarantees: %+v", c)
		}
		for _, g := range c.GrantTypes {
			if g != GrantAuthorizationCode && g != GrantRefreshToken {
				t.Fatalf("grant type %q accepted", g)
			}
		}
		for _, r := range c.ResponseTypes {
			if r != ResponseTypeCode {
				t.Fatalf("response type %q accepted", r)
			}
		}
		for _, u := range c.RedirectURIs {
			if strings.Contains(u, "#") {
				t.Fatalf("redirect URI with fragment %q accepted", u)
			}
			c.AllowsRedirectURI(u + "x")
		}
	})
}
