package oauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// The goldens below were checked member by member against spec §2.1 (the
// captured document with everything on, and the DCR-only variant): the
// differences are Gatehouse's — code_challenge_methods_supported without
// "plain", revocation_endpoint_auth_methods_supported and
// authorization_response_iss_parameter_supported at the end. <A> stands for
// testAuthBase.

// discoveryCases are spec §1.2's combinations.
var discoveryCases = []struct {
	dcr, cimd, refresh bool
	openID, as         string
}{
	{dcr: false, cimd: false, refresh: false,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: false, cimd: false, refresh: true,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: false, cimd: true, refresh: false,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: false, cimd: true, refresh: true,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: true, cimd: false, refresh: false,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: true, cimd: false, refresh: true,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: true, cimd: true, refresh: false,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"grant_types_supported":["authorization_code"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`},
	{dcr: true, cimd: true, refresh: true,
		openID: `{"issuer":"<A>","token_endpoint":"<A>/v1/token","userinfo_endpoint":"<A>/v1/userinfo","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code","id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","RS384","RS512","ES256","ES384","ES512","PS256","PS384","PS512","EdDSA"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"claims_supported":["sub","ent"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`,
		as:     `{"issuer":"<A>","token_endpoint":"<A>/v1/token","jwks_uri":"<A>/.well-known/jwks.json","response_types_supported":["code"],"scopes_supported":["openid","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"grant_types_supported":["authorization_code","refresh_token"],"authorization_endpoint":"<A>/v1/authorize","code_challenge_methods_supported":["S256"],"registration_endpoint":"<A>/v1/register","revocation_endpoint":"<A>/v1/revoke","client_id_metadata_document_supported":true,"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],"authorization_response_iss_parameter_supported":true}`},
}

func discoveryConfig(dcr, cimdOn, refresh bool) Config {
	c := testConfig()
	c.DCR.Enabled, c.CIMD.Enabled, c.Refresh.Enabled = dcr, cimdOn, refresh
	return c
}

func golden(s string) string { return strings.ReplaceAll(s, "<A>", testAuthBase) }

func TestDiscoveryDocuments(t *testing.T) {
	for _, tc := range discoveryCases {
		h := newHarness(t, discoveryConfig(tc.dcr, tc.cimd, tc.refresh), nil)
		for _, path := range []string{
			"/api/auth/.well-known/openid-configuration",
			"/api/auth/.well-known/oauth-authorization-server",
			"/.well-known/oauth-authorization-server/api/auth",
		} {
			want := golden(tc.as)
			if strings.HasSuffix(path, "openid-configuration") {
				want = golden(tc.openID)
			}
			r := h.do("GET", path, "", "")
			if r.Status != http.StatusOK || r.Body != want || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("dcr %v cimd %v refresh %v: GET %s = %d %s %s\nwant %s",
					tc.dcr, tc.cimd, tc.refresh, path, r.Status, r.Header.Get("Content-Type"), r.Body, want)
			}
		}
	}
}

func TestDiscoveryAllowPlainPKCE(t *testing.T) {
	c := testConfig()
	c.AllowPlainPKCE = true
	h := newHarness(t, c, nil)
	for _, path := range []string{"/api/auth/.well-known/openid-configuration", "/api/auth/.well-known/oauth-authorization-server"} {
		if r := h.do("GET", path, "", ""); !strings.Contains(r.Body, `"code_challenge_methods_supported":["S256","plain"],`) {
			t.Errorf("GET %s = %s, want S256 and plain", path, r.Body)
		}
	}
}

// TestDiscoveryRootPath: the RFC 8414 path-insertion location follows the
// auth base URL's path (backend.baseUrl may carry one).
func TestDiscoveryRootPath(t *testing.T) {
	for base, want := range map[string]string{
		"https://bs.example.com/api/auth":         "/.well-known/oauth-authorization-server/api/auth",
		"https://bs.example.com/portal/api/auth/": "/.well-known/oauth-authorization-server/portal/api/auth",
		"http://localhost:7007":                   "/.well-known/oauth-authorization-server",
		"https://bs.example.com/a%20b/api/auth":   "/.well-known/oauth-authorization-server/a%20b/api/auth",
	} {
		if got, err := rootASMetadataPath(strings.TrimRight(base, "/")); err != nil || got != want {
			t.Errorf("rootASMetadataPath(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
	if _, err := New(Options{Config: Config{AuthBaseURL: "/api/auth"}}); err == nil || !strings.Contains(err.Error(), "not an absolute URL") {
		t.Errorf("relative auth base URL: %v", err)
	}
}

func TestCLIClientDocument(t *testing.T) {
	on := newHarness(t, discoveryConfig(false, true, false), nil)
	r := on.do("GET", "/api/auth/.well-known/oauth-client/cli.json", "", "")
	want := golden(`{"client_id":"<A>/.well-known/oauth-client/cli.json","client_name":"Backstage CLI","redirect_uris":["http://127.0.0.1:8055/callback"],"response_types":["code"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none","scope":"openid offline_access"}`)
	if r.Status != http.StatusOK || r.Body != want {
		t.Errorf("CIMD on: %d %s\nwant %s", r.Status, r.Body, want)
	}
	for _, dcr := range []bool{false, true} {
		off := newHarness(t, discoveryConfig(dcr, false, true), nil)
		r := off.do("GET", "/api/auth/.well-known/oauth-client/cli.json", "", "")
		wantOAuthError(t, r, http.StatusNotFound, "not_found", "Client ID metadata documents not enabled")
	}
}

// TestDiscoveryConditional: every document carries its body's strong ETag
// and Cache-Control public max-age=3600, and a request naming the tag gets
// 304 with no body; the CLI document's 404 (CIMD off) carries no ETag.
func TestDiscoveryConditional(t *testing.T) {
	h := newHarness(t, discoveryConfig(true, true, true), nil)
	for _, path := range []string{
		"/api/auth/.well-known/openid-configuration",
		"/api/auth/.well-known/oauth-authorization-server",
		"/.well-known/oauth-authorization-server/api/auth",
		"/api/auth/.well-known/oauth-client/cli.json",
	} {
		r := h.do("GET", path, "", "")
		etag := r.Header.Get("ETag")
		if r.Status != http.StatusOK || etag != httpcache.StrongETag([]byte(r.Body)) || r.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("GET %s: %d ETag %q Cache-Control %q", path, r.Status, etag, r.Header.Get("Cache-Control"))
			continue
		}
		for _, inm := range []string{etag, "W/" + etag, `"stale", ` + etag} {
			r := h.do("GET", path, "", "", "If-None-Match", inm)
			if r.Status != http.StatusNotModified || r.Body != "" || r.Header.Get("ETag") != etag || r.Header.Get("Cache-Control") != "public, max-age=3600" {
				t.Errorf("GET %s If-None-Match %s: %d ETag %q body %q, want 304", path, inm, r.Status, r.Header.Get("ETag"), r.Body)
			}
		}
		if r := h.do("GET", path, "", "", "If-None-Match", `"stale"`); r.Status != http.StatusOK || r.Header.Get("ETag") != etag {
			t.Errorf("GET %s with a stale tag: %d, want 200", path, r.Status)
		}
	}
	off := newHarness(t, discoveryConfig(true, false, true), nil)
	r := off.do("GET", "/api/auth/.well-known/oauth-client/cli.json", "", "", "If-None-Match", "*")
	if r.Status != http.StatusNotFound || r.Header.Get("ETag") != "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("CIMD off: %d ETag %q Cache-Control %q, want 404 without an ETag", r.Status, r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
	}
	// Different documents, different tags.
	a := h.do("GET", "/api/auth/.well-known/openid-configuration", "", "").Header.Get("ETag")
	b := h.do("GET", "/api/auth/.well-known/oauth-authorization-server", "", "").Header.Get("ETag")
	if a == b {
		t.Errorf("OpenID and RFC 8414 documents share the ETag %s", a)
	}
}
