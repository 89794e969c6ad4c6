package vmwarecloud

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers"
)

const (
	testClient   = "gatehouse-test"
	testOrg      = "org-1"
	testCallback = "http://127.0.0.1:1/cb"
)

// cspSignIn signs alice in at the dev console through p's authorization
// URL and returns the callback's parameters with the transaction p filled.
func cspSignIn(t *testing.T, p *Provider, console string) (url.Values, providers.Transaction) {
	t.Helper()
	var txn providers.Transaction
	u, err := p.AuthorizationURL(t.Context(), providers.StartRequest{State: "6e6f", Scope: "openid offline_access", Transaction: &txn})
	if err != nil {
		t.Fatal(err)
	}
	return devidptest.SignIn(t, u, console+"/csp/gateway/login", testCallback, "alice", "alice-pw"), txn
}

// TestIDTokenChecks: the ID-token rules of OpenID Connect Core 3.1.3.7
// (iat, azp) apply to the claims vmwareCloudServices decodes, whether or
// not it verifies the signature; an iss parameter in the authorization
// response (RFC 9207) must name the ID token's issuer, since the provider
// reads no discovery metadata.
func TestIDTokenChecks(t *testing.T) {
	idp, err := devidp.Start(t.Context(), devidp.Config{
		Users:        []devidp.User{{Username: "alice", Password: "alice-pw", Name: "Alice Example", Acct: "alice@example.com"}},
		Clients:      []devidp.Client{{ID: testClient, Secret: "unused", RedirectURIs: []string{testCallback}}},
		ConsoleOrgID: testOrg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	tr := &devidptest.Tamper{SigningKey: idp.ConsoleSigningKey}
	type idTokenCase struct {
		name   string
		mutate func(map[string]any)
		params func(q url.Values)
		want   string
	}
	cases := []idTokenCase{
		{name: "iss parameter names another issuer", params: func(q url.Values) { q.Set("iss", "http://evil.example") },
			want: `authorization response iss "http://evil.example" is not the issuer "` + idp.ConsoleURL() + `"`},
		{name: "iss parameter twice", params: func(q url.Values) { q["iss"] = []string{idp.ConsoleURL(), idp.ConsoleURL()} },
			want: "authorization response carries 2 iss parameters"},
		{name: "iss parameter right", params: func(q url.Values) { q.Set("iss", idp.ConsoleURL()) }},
		{name: "iss parameter, ID token without iss", mutate: func(c map[string]any) { delete(c, "iss") },
			params: func(q url.Values) { q.Set("iss", idp.ConsoleURL()) }, want: "the ID token has no iss claim"},
	}
	for _, c := range devidptest.IDTokenClaimCases(testClient) {
		cases = append(cases, idTokenCase{name: c.Name, mutate: c.Mutate, want: c.Want})
	}
	for _, verify := range []bool{false, true} {
		for _, c := range cases {
			if verify && c.name == "iss parameter, ID token without iss" {
				continue // go-oidc refuses a token without iss before
			}
			t.Run("verify="+strconv.FormatBool(verify)+"/"+c.name, func(t *testing.T) {
				tr.Set(false, c.mutate)
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
				devidptest.WantError(t, err, autherr.NameAuthentication, c.want)
				if err == nil && res.IDTokenClaims["sub"] == nil {
					t.Errorf("ID token claims %v", res.IDTokenClaims)
				}
			})
		}
	}
}
