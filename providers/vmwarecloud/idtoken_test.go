package vmwarecloud

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/providers"
)

const (
	testClient   = "gatehouse-test"
	testOrg      = "org-1"
	testCallback = "http://127.0.0.1:1/cb"
)

// tamper sits between the provider and the dev IdP's CSP console and
// changes the ID token of token responses, re-signed with the console's
// own key, so the provider sees claims the IdP would never issue under a
// good signature.
type tamper struct {
	idp    *devidp.IdP
	mu     sync.Mutex
	mutate func(map[string]any)
}

func (tr *tamper) set(f func(map[string]any)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.mutate = f
}

func (tr *tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	tr.mu.Lock()
	mutate := tr.mutate
	tr.mu.Unlock()
	var doc map[string]any
	if mutate != nil && json.Unmarshal(body, &doc) == nil && doc["id_token"] != nil {
		doc["id_token"] = tr.resign(doc["id_token"].(string), mutate)
		body, _ = json.Marshal(doc)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

func (tr *tamper) resign(raw string, mutate func(map[string]any)) string {
	kid, key := tr.idp.CSPSigningKey()
	s, err := devidp.Resign(raw, kid, key, mutate)
	if err != nil {
		panic(err)
	}
	return s
}

// cspSignIn runs the browser part at the dev console and returns the
// callback's parameters and the transaction.
func cspSignIn(t *testing.T, p *Provider, console string) (url.Values, providers.Transaction) {
	t.Helper()
	var txn providers.Transaction
	u, err := p.AuthorizationURL(t.Context(), providers.StartRequest{State: "6e6f", Scope: "openid offline_access", Transaction: &txn})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), testCallback) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no login form at %s (HTTP %d)", resp.Request.URL, resp.StatusCode)
	}
	resp, err = browser.PostForm(console+"/csp/gateway/login", url.Values{"authRequestID": {id}, "username": {"alice"}, "password": {"alice-pw"}, "action": {"login"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("login answered HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query(), txn
}

// TestIDTokenChecks: the ID-token rules of OpenID Connect Core 3.1.3.7
// (iat, azp) apply to the claims vmwareCloudServices decodes, whether or
// not it verifies the signature; an iss parameter in the authorization
// response (RFC 9207) must name the ID token's issuer, since the provider
// reads no discovery metadata.
func TestIDTokenChecks(t *testing.T) {
	idp, err := devidp.Start(t.Context(), devidp.Config{
		Users:    []devidp.User{{Username: "alice", Password: "alice-pw", Name: "Alice Example", Acct: "alice@example.com"}},
		Clients:  []devidp.Client{{ID: testClient, Secret: "unused", RedirectURIs: []string{testCallback}}},
		CSPOrgID: testOrg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	tr := &tamper{idp: idp}
	cases := []struct {
		name   string
		mutate func(map[string]any)
		params func(q url.Values)
		want   string
	}{
		{name: "good token", mutate: func(c map[string]any) {}},
		{name: "no iat", mutate: func(c map[string]any) { delete(c, "iat") }, want: "ID token has no iat claim"},
		{name: "iat not a number", mutate: func(c map[string]any) { c["iat"] = "yesterday" }, want: "ID token"},
		{name: "several audiences, azp another client", mutate: func(c map[string]any) {
			c["aud"], c["azp"] = []string{testClient, "other-client"}, "other-client"
		}, want: `ID token azp "other-client" is not this client`},
		{name: "several audiences, azp this client", mutate: func(c map[string]any) {
			c["aud"], c["azp"] = []string{testClient, "other-client"}, testClient
		}},
		{name: "several audiences, no azp", mutate: func(c map[string]any) {
			c["aud"] = []string{testClient, "other-client"}
			delete(c, "azp")
		}, want: "ID token has several audiences but no azp claim"},
		{name: "one audience, azp another client", mutate: func(c map[string]any) { c["azp"] = "other-client" },
			want: `ID token azp "other-client" is not this client`},
		{name: "one audience, no azp", mutate: func(c map[string]any) { delete(c, "azp") }},
		{name: "iss parameter names another issuer", params: func(q url.Values) { q.Set("iss", "http://evil.example") },
			want: `authorization response iss "http://evil.example" is not the issuer "` + idp.ConsoleURL() + `"`},
		{name: "iss parameter twice", params: func(q url.Values) { q["iss"] = []string{idp.ConsoleURL(), idp.ConsoleURL()} },
			want: "authorization response carries 2 iss parameters"},
		{name: "iss parameter right", params: func(q url.Values) { q.Set("iss", idp.ConsoleURL()) }},
		{name: "iss parameter, ID token without iss", mutate: func(c map[string]any) { delete(c, "iss") },
			params: func(q url.Values) { q.Set("iss", idp.ConsoleURL()) }, want: "the ID token has no iss claim"},
	}
	for _, verify := range []bool{false, true} {
		for _, c := range cases {
			if verify && c.name == "iss parameter, ID token without iss" {
				continue // go-oidc refuses a token without iss before
			}
			t.Run("verify="+strconv.FormatBool(verify)+"/"+c.name, func(t *testing.T) {
				tr.set(c.mutate)
				p, err := New(Config{ClientID: testClient, OrganizationID: testOrg, ConsoleEndpoint: idp.ConsoleURL(),
					CallbackURL: testCallback, VerifySignature: verify, HTTPClient: &http.Client{Transport: tr}})
				if err != nil {
					t.Fatal(err)
				}
				q, txn := cspSignIn(t, p, idp.ConsoleURL())
				if c.params != nil {
					c.params(q)
				}
				res, err := p.Authenticate(t.Context(), providers.CallbackRequest{Params: q, Transaction: txn})
				if c.want == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if res.IDTokenClaims["sub"] == nil {
						t.Errorf("ID token claims %v", res.IDTokenClaims)
					}
					return
				}
				if err == nil {
					t.Fatalf("accepted, want an error containing %q", c.want)
				}
				if !autherr.Is(err, autherr.NameAuthentication) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %s %q, want AuthenticationError containing %q", autherr.NameOf(err), err, c.want)
				}
			})
		}
	}
}
