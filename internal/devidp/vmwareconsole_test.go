package devidp

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const testOrg = "7c6a0b2e-0000-4000-8000-00000000c5b0"

var consoleUsers = append(slices.Clone(testUsers),
	User{Username: "dave", Password: "dave-pw", Name: "Dave", Acct: "dave@acct.example",
		Email: "dave@other.example", Org: "other-org"},
	User{Username: "erin", Password: "erin-pw", Acct: "erin@example.com",
		GivenName: "Erin", FamilyName: "Van Example"},
)

func startConsole(t *testing.T) *IdP {
	t.Helper()
	return startWith(t, Config{
		Users:        consoleUsers,
		Clients:      []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
		ConsoleOrgID: testOrg,
	})
}

// consoleFlow is one sign-in as Gatehouse (and Backstage's CSP module) does it.
type consoleFlow struct {
	t        *testing.T
	idp      *IdP
	state    string
	verifier string
}

func newConsoleFlow(t *testing.T, idp *IdP) *consoleFlow {
	return &consoleFlow{t: t, idp: idp, state: "state-" + randomID()[:8], verifier: oauth2.GenerateVerifier()}
}

// params are the authorization request's parameters; set or delete some
// before calling authURL to test the checks.
func (f *consoleFlow) params() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"redirect_uri":          {testRedirect},
		"scope":                 {"openid offline_access"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(f.verifier)},
		"code_challenge_method": {"S256"},
		"state":                 {f.state},
		"client_id":             {testClientID},
		"orgId":                 {testOrg},
	}
}

func (f *consoleFlow) authURL(v url.Values) string {
	return f.idp.ConsoleURL() + "/csp/gateway/discovery?" + v.Encode()
}

// login signs in at the CSP login form and returns the code.
func (f *consoleFlow) login(c *http.Client, username, password string) string {
	f.t.Helper()
	id := loginForm(f.t, c, f.idp.ConsoleURL()+"/csp/gateway", f.authURL(f.params()))
	resp, body := postForm(f.t, c, f.idp.ConsoleURL()+"/csp/gateway/login", url.Values{
		"authRequestID": {id}, "username": {username}, "password": {password}, "action": {"login"},
	})
	q := callback(f.t, resp, body)
	if q.Get("state") != f.state {
		f.t.Errorf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("code") == "" {
		f.t.Fatalf("no code in callback: %v", q)
	}
	return q.Get("code")
}

// publicBasic is CSP's client authentication: the client ID and an empty
// secret, not URL-encoded (Backstage: base64(`${clientId}:`)).
func publicBasic(id string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"))
}

type tokenResponse struct {
	status int
	fields map[string]any
	raw    string
}

func (r tokenResponse) str(k string) string { s, _ := r.fields[k].(string); return s }

// consoleToken POSTs form to the CSP token endpoint with the given Authorization
// header ("" for none).
func consoleToken(t *testing.T, idp *IdP, authorization string, form url.Values) tokenResponse {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		idp.ConsoleURL()+"/csp/gateway/am/api/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := tokenResponse{status: resp.StatusCode, raw: string(b)}
	if err := json.Unmarshal(b, &out.fields); err != nil {
		t.Fatalf("token endpoint: status %d, body not JSON: %q", resp.StatusCode, b)
	}
	return out
}

func (f *consoleFlow) codeForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirect},
		"code_verifier": {f.verifier},
		"client_id":     {testClientID},
		"client_secret": {""},
	}
}

func refreshForm(rt string) url.Values {
	return url.Values{
		"scope":         {"openid offline_access"},
		"grant_type":    {"refresh_token"},
		"client_id":     {testClientID},
		"client_secret": {""},
		"refresh_token": {rt},
	}
}

// consoleVerify verifies a CSP ID token against the CSP JWKS, as Gatehouse does.
func consoleVerify(t *testing.T, idp *IdP, raw string) (*oidc.IDToken, map[string]any) {
	t.Helper()
	if raw == "" {
		t.Fatal("no id_token")
	}
	keys := oidc.NewRemoteKeySet(t.Context(), idp.ConsoleURL()+"/csp/gateway/am/api/auth/token-public-key?format=jwks")
	idt, err := oidc.NewVerifier(idp.ConsoleURL(), keys, &oidc.Config{ClientID: testClientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify CSP ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return idt, claims
}

func checkConsoleClaims(t *testing.T, where string, claims map[string]any, want map[string]string) {
	t.Helper()
	for k, v := range want {
		s, ok := claims[k].(string)
		if !ok || s != v {
			t.Errorf("%s: claim %s = %#v, want string %q", where, k, claims[k], v)
		}
	}
}

func aliceConsoleClaims(idp *IdP) map[string]string {
	return map[string]string{
		"sub": "alice", "iss": idp.ConsoleURL(), "email": "alice@example.com", "acct": "alice@example.com",
		"given_name": "Alice", "family_name": "Example", "context_name": testOrg,
	}
}

func TestConsoleCodeFlowRefreshRotation(t *testing.T) {
	idp := startConsole(t)
	if !strings.HasPrefix(idp.ConsoleURL(), "http://127.0.0.1:") || strings.HasSuffix(idp.ConsoleURL(), "/") ||
		!strings.HasPrefix(idp.Issuer(), idp.ConsoleURL()+"/") {
		t.Errorf("ConsoleURL() = %q, Issuer() = %q", idp.ConsoleURL(), idp.Issuer())
	}
	f := newConsoleFlow(t, idp)
	c := browser(t)
	code := f.login(c, "alice", "alice-pw")

	tok := consoleToken(t, idp, publicBasic(testClientID), f.codeForm(code))
	if tok.status != http.StatusOK {
		t.Fatalf("code exchange: status %d: %s", tok.status, tok.raw)
	}
	for _, k := range []string{"access_token", "token_type", "scope", "id_token", "refresh_token"} {
		if tok.str(k) == "" {
			t.Errorf("token response lacks %s: %s", k, tok.raw)
		}
	}
	if n, _ := tok.fields["expires_in"].(float64); n <= 0 {
		t.Errorf("expires_in = %v", tok.fields["expires_in"])
	}
	if !strings.Contains(tok.str("scope"), "offline_access") || !strings.Contains(tok.str("scope"), "openid") {
		t.Errorf("scope = %q", tok.str("scope"))
	}
	idt, claims := consoleVerify(t, idp, tok.str("id_token"))
	checkConsoleClaims(t, "ID token", claims, aliceConsoleClaims(idp))
	if len(idt.Audience) != 1 || idt.Audience[0] != testClientID {
		t.Errorf("aud = %v", idt.Audience)
	}
	for _, k := range []string{"exp", "iat"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("ID token lacks %s", k)
		}
	}

	// Signed by ConsoleSigningKey, not the VCF SSO key.
	kid, key := idp.ConsoleSigningKey()
	vcfKid, _ := idp.SigningKey()
	h := jwtHeader(t, tok.str("id_token"))
	if key == nil || h.Algorithm != "RS256" || h.KeyID != kid || kid == vcfKid {
		t.Errorf("ID token header alg=%s kid=%s; CSP kid %s, VCF kid %s", h.Algorithm, h.KeyID, kid, vcfKid)
	}

	// The code is single-use.
	if again := consoleToken(t, idp, publicBasic(testClientID), f.codeForm(code)); again.status != http.StatusBadRequest || again.str("error") != "invalid_grant" {
		t.Errorf("second exchange: %d %s", again.status, again.raw)
	}

	// Refresh rotates: a new refresh token, the old one is refused.
	ref := consoleToken(t, idp, publicBasic(testClientID), refreshForm(tok.str("refresh_token")))
	if ref.status != http.StatusOK {
		t.Fatalf("refresh: status %d: %s", ref.status, ref.raw)
	}
	if ref.str("refresh_token") == "" || ref.str("refresh_token") == tok.str("refresh_token") {
		t.Errorf("refresh did not rotate the refresh token: %s", ref.raw)
	}
	if ref.str("scope") == "" || ref.str("access_token") == "" || ref.str("access_token") == tok.str("access_token") {
		t.Errorf("refresh response: %s", ref.raw)
	}
	_, claims2 := consoleVerify(t, idp, ref.str("id_token"))
	checkConsoleClaims(t, "refreshed ID token", claims2, aliceConsoleClaims(idp))

	old := consoleToken(t, idp, publicBasic(testClientID), refreshForm(tok.str("refresh_token")))
	if old.status != http.StatusBadRequest || old.str("error") != "invalid_grant" {
		t.Errorf("replayed refresh token: %d %s, want invalid_grant", old.status, old.raw)
	}
	// The rotated token works, once.
	ref2 := consoleToken(t, idp, publicBasic(testClientID), refreshForm(ref.str("refresh_token")))
	if ref2.status != http.StatusOK || ref2.str("refresh_token") == ref.str("refresh_token") {
		t.Errorf("second refresh: %d %s", ref2.status, ref2.raw)
	}

	// golang.org/x/oauth2 with an empty secret in the header works too.
	cfg := oauth2.Config{ClientID: testClientID, Endpoint: oauth2.Endpoint{
		TokenURL: idp.ConsoleURL() + "/csp/gateway/am/api/auth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	ot, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: ref2.str("refresh_token")}).Token()
	if err != nil {
		t.Fatalf("oauth2 refresh: %v", err)
	}
	if ot.RefreshToken == "" || ot.RefreshToken == ref2.str("refresh_token") {
		t.Errorf("oauth2 refresh did not rotate")
	}

	// The SSO session: the next authorization needs no password.
	f2 := newConsoleFlow(t, idp)
	resp, body := get(t, c, f2.authURL(f2.params()))
	q := callback(t, resp, body)
	if q.Get("code") == "" || q.Get("state") != f2.state {
		t.Fatalf("SSO authorization: %v", q)
	}
	tok2 := consoleToken(t, idp, publicBasic(testClientID), f2.codeForm(q.Get("code")))
	if tok2.status != http.StatusOK {
		t.Fatalf("SSO exchange: %d %s", tok2.status, tok2.raw)
	}
	_, claims3 := consoleVerify(t, idp, tok2.str("id_token"))
	checkConsoleClaims(t, "SSO ID token", claims3, aliceConsoleClaims(idp))

	// The CSP userinfo endpoint answers with the same claims.
	var meta struct {
		Userinfo string `json:"userinfo_endpoint"`
	}
	_, doc := get(t, http.DefaultClient, idp.ConsoleURL()+"/.well-known/openid-configuration")
	_ = json.Unmarshal([]byte(doc), &meta)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, meta.Userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok2.str("access_token"))
	uresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer uresp.Body.Close()
	var ui map[string]any
	if err := json.NewDecoder(uresp.Body).Decode(&ui); err != nil || uresp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: status %d, %v", uresp.StatusCode, err)
	}
	want := aliceConsoleClaims(idp)
	delete(want, "iss")
	checkConsoleClaims(t, "userinfo", ui, want)
}

func TestConsoleDiscoveryAndJWKS(t *testing.T) {
	idp := startConsole(t)
	resp, body := get(t, http.DefaultClient, idp.ConsoleURL()+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"issuer":                 idp.ConsoleURL(),
		"authorization_endpoint": idp.ConsoleURL() + "/csp/gateway/discovery",
		"token_endpoint":         idp.ConsoleURL() + "/csp/gateway/am/api/auth/token",
		"jwks_uri":               idp.ConsoleURL() + "/csp/gateway/am/api/auth/token-public-key",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
	resp, body = get(t, http.DefaultClient, idp.ConsoleURL()+"/csp/gateway/am/api/auth/token-public-key?format=jwks")
	kid, _ := idp.ConsoleSigningKey()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"kid":"`+kid+`"`) || !strings.Contains(body, `"kty":"RSA"`) {
		t.Errorf("JWKS: %d %s", resp.StatusCode, body)
	}
	// The VCF SSO side is untouched.
	if _, err := oidc.NewProvider(t.Context(), idp.Issuer()); err != nil {
		t.Errorf("VCF SSO discovery: %v", err)
	}
}

func TestConsoleAuthorizeChecks(t *testing.T) {
	idp := startConsole(t)
	f := newConsoleFlow(t, idp)
	for name, tc := range map[string]struct {
		edit func(url.Values)
		want string // in error_description
	}{
		"no orgId":         {func(v url.Values) { v.Del("orgId") }, "orgId"},
		"wrong orgId":      {func(v url.Values) { v.Set("orgId", "someone-else") }, "orgId"},
		"no PKCE":          {func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "code_challenge"},
		"no method":        {func(v url.Values) { v.Del("code_challenge_method") }, "S256"},
		"plain method":     {func(v url.Values) { v.Set("code_challenge_method", "plain") }, "S256"},
		"method no chall.": {func(v url.Values) { v.Del("code_challenge") }, "code_challenge"},
	} {
		t.Run(name, func(t *testing.T) {
			v := f.params()
			tc.edit(v)
			resp, body := get(t, browser(t), f.authURL(v))
			q := callback(t, resp, body)
			if q.Get("error") != "invalid_request" || q.Get("state") != f.state || q.Get("code") != "" ||
				!strings.Contains(q.Get("error_description"), tc.want) {
				t.Errorf("callback = %v, want error=invalid_request naming %s with state %s", q, tc.want, f.state)
			}
		})
	}

	// An unregistered redirect URI gets an error page, never a redirect,
	// whatever else is wrong.
	for name, edit := range map[string]func(url.Values){
		"evil redirect":        func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:1/evil") },
		"evil redirect no org": func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:1/evil"); v.Del("orgId") },
		"unknown client":       func(v url.Values) { v.Set("client_id", "nobody"); v.Del("orgId") },
	} {
		v := f.params()
		edit(v)
		resp, _ := get(t, browser(t), f.authURL(v))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: status %d location %q, want a 400 error page", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestConsoleClientAuthentication(t *testing.T) {
	idp := startConsole(t)
	f := newConsoleFlow(t, idp)
	code := f.login(browser(t), "bob", "bob-pw")

	withSecretInForm := f.codeForm(code)
	withSecretInForm.Set("client_secret", testSecret)
	otherClientInForm := f.codeForm(code)
	otherClientInForm.Set("client_id", "nobody")
	for name, tc := range map[string]struct {
		auth string
		form url.Values
	}{
		"no Basic header":        {"", f.codeForm(code)},
		"secret in Basic header": {"Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)), f.codeForm(code)},
		"unknown client":         {publicBasic("nobody"), f.codeForm(code)},
		"Bearer instead":         {"Bearer " + testClientID, f.codeForm(code)},
		"secret in form":         {publicBasic(testClientID), withSecretInForm},
		"client_id mismatch":     {publicBasic(testClientID), otherClientInForm},
	} {
		r := consoleToken(t, idp, tc.auth, tc.form)
		if r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
			t.Errorf("%s: %d %s, want 401 invalid_client", name, r.status, r.raw)
		}
	}

	// Missing or wrong PKCE verifier.
	noVerifier := f.codeForm(code)
	noVerifier.Del("code_verifier")
	if r := consoleToken(t, idp, publicBasic(testClientID), noVerifier); r.status != http.StatusBadRequest || r.str("error") == "" {
		t.Errorf("no code_verifier: %d %s", r.status, r.raw)
	}
	wrong := f.codeForm(code)
	wrong.Set("code_verifier", oauth2.GenerateVerifier())
	if r := consoleToken(t, idp, publicBasic(testClientID), wrong); r.status != http.StatusBadRequest || r.str("error") != "invalid_grant" {
		t.Errorf("wrong code_verifier: %d %s, want invalid_grant", r.status, r.raw)
	}

	// None of the refused calls used the code up.
	r := consoleToken(t, idp, publicBasic(testClientID), f.codeForm(code))
	if r.status != http.StatusOK {
		t.Fatalf("exchange after refused attempts: %d %s", r.status, r.raw)
	}
	// Refresh needs the header as well.
	if rr := consoleToken(t, idp, "", refreshForm(r.str("refresh_token"))); rr.status != http.StatusUnauthorized || rr.str("error") != "invalid_client" {
		t.Errorf("refresh without Basic: %d %s", rr.status, rr.raw)
	}
	// Revocation at CSP takes the same client authentication.
	revokeURL := idp.ConsoleURL() + "/csp/gateway/am/api/auth/revoke"
	for _, auth := range []string{"", publicBasic(testClientID)} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, revokeURL,
			strings.NewReader(url.Values{"token": {r.str("refresh_token")}, "token_type_hint": {"refresh_token"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusOK}[auth == ""]; resp.StatusCode != want {
			t.Errorf("revoke with Authorization %q: status %d, want %d", auth, resp.StatusCode, want)
		}
	}
	if rr := consoleToken(t, idp, publicBasic(testClientID), refreshForm(r.str("refresh_token"))); rr.str("error") != "invalid_grant" {
		t.Errorf("refresh after revocation: %d %s", rr.status, rr.raw)
	}
	// The VCF SSO instance's refresh tokens and codes mean nothing here.
	vf := newFlow(t, idp, oauth2.AuthStyleInHeader)
	vtok := vf.exchange(vf.login(browser(t), "alice", "alice-pw").Get("code"))
	if rr := consoleToken(t, idp, publicBasic(testClientID), refreshForm(vtok.RefreshToken)); rr.str("error") != "invalid_grant" {
		t.Errorf("VCF refresh token at CSP: %d %s", rr.status, rr.raw)
	}
}

func TestConsoleOtherOrgAndNameDefaults(t *testing.T) {
	idp := startConsole(t)
	for _, tc := range []struct {
		user, password string
		want           map[string]string
	}{
		{"dave", "dave-pw", map[string]string{"sub": "dave", "email": "dave@other.example", "acct": "dave@acct.example",
			"given_name": "Dave", "family_name": "User", "context_name": "other-org"}},
		{"erin", "erin-pw", map[string]string{"sub": "erin", "email": "erin@example.com",
			"given_name": "Erin", "family_name": "Van Example", "context_name": testOrg}},
	} {
		f := newConsoleFlow(t, idp)
		tok := consoleToken(t, idp, publicBasic(testClientID), f.codeForm(f.login(browser(t), tc.user, tc.password)))
		if tok.status != http.StatusOK {
			t.Fatalf("%s: exchange: %d %s", tc.user, tok.status, tok.raw)
		}
		_, claims := consoleVerify(t, idp, tok.str("id_token"))
		checkConsoleClaims(t, tc.user, claims, tc.want)
	}
	if g, fam := (User{Username: "x"}).consoleNames(); g != "x" || fam != "User" {
		t.Errorf("defaults without name: %q %q", g, fam)
	}
}

func TestConsoleAndVCFTogether(t *testing.T) {
	idp := startConsole(t)
	c := browser(t)
	// A VCF SSO sign-in keeps VCF SSO's claims, and its session is its own.
	vf := newFlow(t, idp, oauth2.AuthStyleInHeader)
	vtok := vf.exchange(vf.login(c, "alice", "alice-pw").Get("code"))
	_, vclaims := vf.verifyID(vtok)
	checkVCFClaims(t, "VCF ID token", vclaims, testUsers[0])
	cf := newConsoleFlow(t, idp)
	code := cf.login(c, "bob", "bob-pw") // the CSP form, despite the VCF session
	tok := consoleToken(t, idp, publicBasic(testClientID), cf.codeForm(code))
	_, claims := consoleVerify(t, idp, tok.str("id_token"))
	checkConsoleClaims(t, "CSP ID token", claims, map[string]string{"sub": "bob", "email": "bob@example.com"})
	// A CSP ID token does not verify against VCF SSO's keys.
	if _, err := vf.provider.Verifier(&oidc.Config{ClientID: testClientID, SkipIssuerCheck: true}).Verify(t.Context(), tok.str("id_token")); err == nil {
		t.Error("CSP ID token verified with the VCF SSO keys")
	}
	// A VCF SSO code is not redeemable at CSP.
	code2 := vf.login(c, "alice", "alice-pw", oauth2.SetAuthURLParam("prompt", "login")).Get("code")
	form := cf.codeForm(code2)
	form.Set("code_verifier", vf.verifier)
	if r := consoleToken(t, idp, publicBasic(testClientID), form); r.str("error") != "invalid_grant" {
		t.Errorf("VCF code at CSP: %d %s", r.status, r.raw)
	}
}

func TestConsoleDisabledAndConfig(t *testing.T) {
	idp := startIdP(t)
	if kid, key := idp.ConsoleSigningKey(); kid != "" || key != nil {
		t.Error("ConsoleSigningKey without ConsoleOrgID")
	}
	resp, _ := get(t, http.DefaultClient, idp.ConsoleURL()+"/csp/gateway/discovery")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("CSP endpoint without ConsoleOrgID: status %d", resp.StatusCode)
	}
	_, err := Start(t.Context(), Config{Users: testUsers, IssuerPath: "/", ConsoleOrgID: testOrg,
		Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{testRedirect}}}})
	if err == nil {
		t.Error("CSP with a root issuer path: Start succeeded")
	}
}

func TestLoadUsersConsoleKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(p, []byte(`users:
  - {username: dave, password: d, name: Dave Other, acct: dave@x, givenName: David, familyName: Other, email: dave@other.example, org: other-org}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := LoadUsers(p)
	if err != nil {
		t.Fatal(err)
	}
	want := User{Username: "dave", Password: "d", Name: "Dave Other", Acct: "dave@x",
		GivenName: "David", FamilyName: "Other", Email: "dave@other.example", Org: "other-org"}
	if len(users) != 1 || users[0] != want {
		t.Errorf("users = %+v", users)
	}
}
