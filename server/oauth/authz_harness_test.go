package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// Helpers for the /v1/authorize and consent tests (authorize_test.go,
// consent_test.go), on top of harness_test.go.

// The PKCE pair of spec §7.a (RFC 7636 appendix B).
const (
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	// testDCRClient is a registration made by registerDCR.
	testDCRClient = "734bfbc3-cf2e-440c-8e3c-753f84661a8e"
	// testIssParam is iss=<A> as approve and reject append it.
	testIssParam = "iss=https%3A%2F%2Fbs.example.com%2Fapi%2Fauth"
)

// cimdQuery is spec §7.a step 2's authorization request.
func cimdQuery() url.Values {
	return url.Values{
		"client_id": {testCIMDClient}, "redirect_uri": {"http://127.0.0.1:9999/callback"},
		"response_type": {"code"}, "state": {"st1"}, "code_challenge": {testChallenge},
		"code_challenge_method": {"S256"}, "scope": {"openid offline_access"}, "nonce": {"n1"},
	}
}

// dcrQuery is spec §7.b step 2's, for the client registerDCR makes.
func dcrQuery() url.Values {
	return url.Values{
		"client_id": {testDCRClient}, "redirect_uri": {"http://127.0.0.1:5000/cb"},
		"response_type": {"code"}, "scope": {"openid offline_access"}, "state": {"xyz"},
		"code_challenge": {testChallenge}, "code_challenge_method": {"S256"},
	}
}

// with returns a copy of v with name set to values (none: deleted).
func with(v url.Values, name string, values ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	if len(values) == 0 {
		delete(out, name)
	} else {
		out[name] = values
	}
	return out
}

// registerDCR stores testDCRClient ("Demo") with redirect URIs.
func (h *harness) registerDCR(redirectURIs ...string) {
	h.t.Helper()
	if err := h.store.CreateClient(context.Background(), identity.OAuthClient{ID: testDCRClient,
		SecretHash: identity.HashSecret("secret"), Name: "Demo", RedirectURIs: redirectURIs,
		Created: h.clock.Now()}); err != nil {
		h.t.Fatal(err)
	}
}

// authorize sends GET /v1/authorize with the query v.
func (h *harness) authorize(v url.Values, headers ...string) response {
	h.t.Helper()
	return h.do("GET", "/api/auth/v1/authorize?"+v.Encode(), "", "", headers...)
}

// startSession runs /v1/authorize and returns the consent session id.
func (h *harness) startSession(v url.Values) string {
	h.t.Helper()
	r := h.authorize(v)
	prefix := testAppBase + "/oauth2/authorize/"
	loc := r.Header.Get("Location")
	if r.Status != 302 || !strings.HasPrefix(loc, prefix) {
		h.t.Fatalf("authorize: %d %q %s", r.Status, loc, r.Body)
	}
	return strings.TrimPrefix(loc, prefix)
}

// decide posts approve or reject for session id as the consent page does.
func (h *harness) decide(id, decision string, headers ...string) response {
	h.t.Helper()
	return h.do("POST", "/api/auth/v1/sessions/"+id+"/"+decision, "application/json", "", headers...)
}

// bearer is an Authorization header for tok.
func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// wantEnvelope checks an error returned for Backstage's envelope (as the
// harness writes it).
func wantEnvelope(t *testing.T, r response, status int, name, message string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	e, _ := r.JSON(t)["error"].(map[string]any)
	if e["name"] != name || e["message"] != message {
		t.Errorf("envelope %s\nwant name %q message %q", r.Body, name, message)
	}
}

// forgedToken is a JWS with header typ signed by a key nobody publishes,
// e.g. a plugin's service token.
func forgedToken(t *testing.T, typ, payload string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", "forged")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
