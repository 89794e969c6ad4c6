package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
)

const (
	testClient   = "gatehouse-test"
	testSecret   = "test-secret"
	testCallback = "http://127.0.0.1:1/cb"
)

func startIdP(t *testing.T) *devidp.IdP {
	t.Helper()
	idp, err := devidp.Start(t.Context(), devidp.Config{
		Users:   []devidp.User{{Username: "alice", Password: "alice-pw", Name: "Alice Example", Acct: "alice@example.com"}},
		Clients: []devidp.Client{{ID: testClient, Secret: testSecret, RedirectURIs: []string{testCallback}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

// signIn signs alice in at the dev IdP through p's authorization URL and
// returns the callback's parameters with the transaction p filled.
func signIn(t *testing.T, p providers.Provider, loginURL string) (url.Values, providers.Transaction) {
	t.Helper()
	var txn providers.Transaction
	u, err := p.AuthorizationURL(t.Context(), providers.StartRequest{State: "6e6f", Scope: "openid profile email offline_access", Transaction: &txn})
	if err != nil {
		t.Fatal(err)
	}
	return devidptest.SignIn(t, u, loginURL, testCallback, "alice", "alice-pw"), txn
}

// idTokenCase is one row of the ID-token and authorization-response table
// (OpenID Connect Core 3.1.3.7, RFC 9207).
type idTokenCase struct {
	name        string
	mutate      func(c map[string]any) // the ID token's claims; nil keeps the IdP's token
	issRequired bool                   // the metadata sets authorization_response_iss_parameter_supported
	params      func(q url.Values, issuer string)
	want        string // "" means accepted; else in the AuthenticationError's message
}

func idTokenCases() []idTokenCase {
	var cases []idTokenCase
	for _, c := range devidptest.IDTokenClaimCases(testClient) {
		cases = append(cases, idTokenCase{name: c.Name, mutate: c.Mutate, want: c.Want})
	}
	return append(cases, []idTokenCase{
		{name: "azp not a string", mutate: func(c map[string]any) { c["azp"] = 7 }, want: "ID token azp claim is not a string"},
		{name: "iss parameter names another issuer", params: func(q url.Values, _ string) { q.Set("iss", "http://evil.example") },
			want: `authorization response iss "http://evil.example" is not the issuer`},
		{name: "iss parameter twice", params: func(q url.Values, iss string) { q["iss"] = []string{iss, iss} },
			want: "authorization response carries 2 iss parameters"},
		{name: "iss parameter wrong, and an error", params: func(q url.Values, _ string) {
			q.Set("iss", "http://evil.example")
			q.Set("error", "access_denied")
		}, want: `authorization response iss "http://evil.example" is not the issuer`},
		{name: "iss parameter missing, metadata requires it", issRequired: true,
			want: "authorization response has no iss parameter"},
		{name: "iss parameter missing, not required"},
		{name: "iss parameter right", params: func(q url.Values, iss string) { q.Set("iss", iss) }},
		{name: "iss parameter right, metadata requires it", issRequired: true, params: func(q url.Values, iss string) { q.Set("iss", iss) }},
	}...)
}

func checkOutcome(t *testing.T, res *providers.Result, err error, want string) {
	t.Helper()
	devidptest.WantError(t, err, autherr.NameAuthentication, want)
	if err == nil && res.IDTokenClaims["sub"] != "alice" {
		t.Errorf("ID token claims %v", res.IDTokenClaims)
	}
}

// TestIDTokenChecks runs the table through both providers built on this
// package: oidc and vcfsso.
func TestIDTokenChecks(t *testing.T) {
	idp := startIdP(t)
	tr := &devidptest.Tamper{SigningKey: idp.SigningKey}
	for _, ctor := range []struct {
		name string
		new  func(oidc.Config) (*oidc.Provider, error)
	}{{"oidc", oidc.New}, {"vcfsso", vcfsso.New}} {
		for _, c := range idTokenCases() {
			t.Run(ctor.name+"/"+c.name, func(t *testing.T) {
				tr.Set(c.issRequired, c.mutate)
				p, err := ctor.new(oidc.Config{
					ProviderID: ctor.name, MetadataURL: idp.Issuer(), ClientID: testClient, ClientSecret: testSecret,
					CallbackURL: testCallback, Prompt: "auto", HTTPClient: &http.Client{Transport: tr},
				})
				if err != nil {
					t.Fatal(err)
				}
				q, txn := signIn(t, p, idp.Issuer()+"/login")
				if c.params != nil {
					c.params(q, idp.Issuer())
				}
				res, err := p.Authenticate(t.Context(), providers.CallbackRequest{Params: q, Transaction: txn})
				checkOutcome(t, res, err, c.want)
			})
		}
	}
}

// TestRefreshIDTokenChecks: an ID token in a refresh answer gets the same
// checks as at sign-in.
func TestRefreshIDTokenChecks(t *testing.T) {
	idp := startIdP(t)
	tr := &devidptest.Tamper{SigningKey: idp.SigningKey}
	p, err := oidc.New(oidc.Config{
		ProviderID: "oidc", MetadataURL: idp.Issuer(), ClientID: testClient, ClientSecret: testSecret,
		CallbackURL: testCallback, Prompt: "auto", HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	q, txn := signIn(t, p, idp.Issuer()+"/login")
	res, err := p.Authenticate(t.Context(), providers.CallbackRequest{Params: q, Transaction: txn})
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.RefreshToken == "" {
		t.Fatal("the dev IdP issued no refresh token")
	}
	tr.Set(false, func(c map[string]any) { delete(c, "iat") })
	_, err = p.Refresh(t.Context(), providers.RefreshRequest{RefreshToken: res.Session.RefreshToken})
	if err == nil || !strings.Contains(err.Error(), "ID token has no iat claim") {
		t.Errorf("refresh with an ID token lacking iat: %v", err)
	}
}

// TestIssuerCheckNeedsDiscovery: the iss parameter is compared before
// anything else, so an IdP that cannot be discovered fails the callback
// with the discovery error rather than with the IdP's error parameter.
func TestIssuerCheckNeedsDiscovery(t *testing.T) {
	p, err := oidc.New(oidc.Config{MetadataURL: "http://127.0.0.1:1/acs", ClientID: testClient, CallbackURL: testCallback})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Authenticate(context.Background(), providers.CallbackRequest{Params: url.Values{"error": {"access_denied"}, "iss": {"http://evil.example"}}})
	var ae *autherr.Error
	if !errors.As(err, &ae) || ae.Name != autherr.NameServiceUnavailable {
		t.Errorf("got %v, want a ServiceUnavailableError for the failed discovery", err)
	}
}
