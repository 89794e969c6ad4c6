package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 14 end to end: the authorization server in a gateway built from
// app-config, over real HTTP, with users signed in through the dev IdP.
// The flows first, then a negative test for every item of the issue's
// "Safer than Backstage" list.

// jsonKeys is the order of a JSON object's top-level members.
func jsonKeys(t testing.TB, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", body)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func wantKeys(t testing.TB, what string, a oauthAnswer, want ...string) {
	t.Helper()
	if got := jsonKeys(t, a.body); !slices.Equal(got, want) {
		t.Errorf("%s: members %v, want %v", what, got, want)
	}
}

// TestOAuthCLIFlow is `backstage-cli auth login`, its refreshes and its
// logout (spec §2.14): JSON bodies, no client_id on refresh and revoke.
func TestOAuthCLIFlow(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	cli := h.cli()
	// Any loopback port: the CLI listens where it can (RFC 8252).
	cli.redirectURI = "http://127.0.0.1:38055/callback"
	ar := h.authorize(t, cli, "openid offline_access")
	code := h.approve(t, ar, user)
	a := h.exchangeJSON(ar, code)
	access, rt := h.tokenAnswer(t, "CLI exchange", a, true)
	wantKeys(t, "CLI exchange", a, "access_token", "token_type", "expires_in", "id_token", "scope", "refresh_token")
	if a.str("id_token") != access || a.str("scope") != "openid offline_access" {
		t.Errorf("CLI exchange: id_token equal %v, scope %q", a.str("id_token") == access, a.str("scope"))
	}
	// The access token is a Backstage user token every backend accepts.
	if code, claims := userInfo(t, h.base, access); code != 200 || subOf(claims) != "user:default/alice" {
		t.Errorf("/v1/userinfo with the access token: %d %v", code, claims)
	}
	for i := range 3 {
		a := h.refreshAs(cli, rt)
		_, next := h.tokenAnswer(t, fmt.Sprintf("CLI refresh %d", i), a, true)
		wantKeys(t, "CLI refresh", a, "access_token", "token_type", "expires_in", "refresh_token")
		if strings.Split(next, ".")[0] != strings.Split(rt, ".")[0] || next == rt {
			t.Errorf("refresh %d: %q after %q: want the same session id and a new secret", i, next, rt)
		}
		rt = next
	}
	// CLI logout sends no client_id; it revokes (Backstage answers 401).
	h.revokeAndCheck(t, cli, rt)
}

// TestOAuthDCRFlow is an MCP client that registers (RFC 7591), then runs
// code + PKCE with form bodies and client_secret_basic, asks for an
// unknown scope and an RFC 8707 resource, refreshes with
// client_secret_post and revokes (RFC 7009).
func TestOAuthDCRFlow(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	reg := h.postJSON("/v1/register", map[string]any{"client_name": "Demo MCP client", "redirect_uris": []string{"http://127.0.0.1:5000/cb"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}}, nil)
	if reg.status != 201 {
		t.Fatalf("register: %d %s", reg.status, reg.body)
	}
	wantKeys(t, "register", reg, "client_id", "redirect_uris", "client_secret", "client_id_issued_at",
		"client_secret_expires_at", "token_endpoint_auth_method", "grant_types", "response_types")
	if reg.json["client_secret_expires_at"] != 0.0 || reg.str("token_endpoint_auth_method") != "client_secret_basic" {
		t.Errorf("register: %s", reg.body)
	}
	c := oauthClient{id: reg.str("client_id"), secret: reg.str("client_secret"), redirectURI: "http://127.0.0.1:5000/cb"}
	const resource = "https://mcp.example.com/mcp"
	ar := h.authorize(t, c, "openid offline_access profile", url.Values{"resource": {resource}})
	code := h.approve(t, ar, user)
	a := h.exchangeForm(ar, code)
	access, rt := h.tokenAnswer(t, "DCR exchange", a, true)
	if a.str("scope") != "openid offline_access" {
		t.Errorf("scope %q: want the granted scopes only", a.str("scope"))
	}
	if aud := fmt.Sprint(h.verifyToken(access, "vnd.backstage.user")["aud"]); aud != "[backstage "+resource+"]" {
		t.Errorf("aud %s, want [backstage %s]", aud, resource)
	}
	post := h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {c.id}, "client_secret": {c.secret}}, nil)
	_, rt = h.tokenAnswer(t, "DCR refresh (client_secret_post)", post, true)
	h.revokeAndCheck(t, c, rt)
}

// TestOAuthSeveralDevices: one user logging in with the CLI on two
// machines keeps both refresh tokens (spec §6.7; Backstage kills the
// first).
func TestOAuthSeveralDevices(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	_, rt1 := h.grantTokens(t, h.cli(), user)
	_, rt2 := h.grantTokens(t, h.cli(), user)
	h.tokenAnswer(t, "first device", h.refreshAs(h.cli(), rt1), true)
	h.tokenAnswer(t, "second device", h.refreshAs(h.cli(), rt2), true)
}

// TestOAuthPKCE: S256 is required of every client, plain is refused, and
// a wrong verifier gets no token.
func TestOAuthPKCE(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	dcr := h.register(t, "pkce", "http://127.0.0.1:5000/cb")
	for _, c := range []oauthClient{h.cli(), dcr} {
		t.Run("wrong verifier "+map[bool]string{true: "DCR", false: "CLI"}[c.confidential()], func(t *testing.T) {
			ar := h.authorize(t, c, "openid offline_access")
			code := h.approve(t, ar, user)
			good := ar.pkce.verifier
			ar.pkce.verifier = newPKCE().verifier
			wantOAuthError(t, "wrong verifier", h.exchangeForm(ar, code), 400, "invalid_grant", "Invalid code verifier")
			ar.pkce.verifier = ""
			a := h.exchangeForm(ar, code)
			if a.status != 400 || a.str("access_token") != "" {
				t.Errorf("no verifier: %d %s", a.status, a.body)
			}
			ar.pkce.verifier = good[:42] // RFC 7636: 43 to 128 characters
			if a := h.exchangeForm(ar, code); a.status != 400 || a.str("access_token") != "" {
				t.Errorf("42-character verifier: %d %s", a.status, a.body)
			}
		})
		t.Run("plain refused "+c.id, func(t *testing.T) {
			p := newPKCE()
			q := authorizeQuery(c, p, "openid", "s")
			q.Set("code_challenge", p.verifier)
			q.Set("code_challenge_method", "plain")
			wantEnvelope(t, "plain", h.authorizeRaw(q), 400, "InputError", "Invalid code_challenge_method")
			q.Del("code_challenge")
			q.Del("code_challenge_method")
			msg := wantEnvelope(t, "no challenge", h.authorizeRaw(q), 400, "InputError", "")
			if !strings.Contains(msg, "PKCE") {
				t.Errorf("no challenge: %q does not name PKCE", msg)
			}
		})
	}
}

// TestOAuthCodeReuse: a code is redeemed once; its replay is refused and
// revokes the refresh token the first redemption issued (spec §6.3).
func TestOAuthCodeReuse(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	ar := h.authorize(t, h.cli(), "openid offline_access")
	code := h.approve(t, ar, user)
	_, rt := h.tokenAnswer(t, "first redemption", h.exchangeJSON(ar, code), true)
	wantOAuthError(t, "replayed code", h.exchangeJSON(ar, code), 400, "invalid_grant", "Authorization code already used")
	wantOAuthError(t, "refresh token issued from the replayed code", h.refreshAs(h.cli(), rt), 400, "invalid_grant", "")
	if !strings.Contains(h.logs.String(), "level=WARN") {
		t.Errorf("a replayed code was not logged at warn:\n%s", h.logs)
	}
	// An unknown code.
	wantOAuthError(t, "unknown code", h.exchangeJSON(ar, randomB64(32)), 400, "invalid_grant", "")
}

// TestOAuthForeignRedirect: a redirect URI the client did not register is
// refused at /v1/authorize (envelope, never a redirect), and a code is
// bound to its redirect URI at /v1/token.
func TestOAuthForeignRedirect(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	dcr := h.register(t, "redirect", "http://127.0.0.1:5000/cb")
	for _, c := range []struct {
		name string
		c    oauthClient
	}{
		{"CLI, another path", oauthClient{id: h.cli().id, redirectURI: "http://127.0.0.1:8055/elsewhere"}},
		{"CLI, not loopback", oauthClient{id: h.cli().id, redirectURI: "https://evil.example.com/callback"}},
		{"CLI, localhost for 127.0.0.1", oauthClient{id: h.cli().id, redirectURI: "http://localhost:8055/callback"}},
		{"DCR, another port", oauthClient{id: dcr.id, redirectURI: "http://127.0.0.1:5001/cb"}},
		{"DCR, another host", oauthClient{id: dcr.id, redirectURI: "https://evil.example.com/cb"}},
	} {
		a := h.authorizeRaw(authorizeQuery(c.c, newPKCE(), "openid", "s"))
		if loc := a.header.Get("Location"); loc != "" {
			t.Errorf("%s: redirected to %s", c.name, loc)
		}
		if msg := wantEnvelope(t, c.name, a, 400, "InputError", ""); !strings.HasPrefix(msg, "Invalid redirect_uri") {
			t.Errorf("%s: %q", c.name, msg)
		}
	}
	// The code is bound to the redirect URI it was issued for.
	ar := h.authorize(t, dcr, "openid")
	code := h.approve(t, ar, user)
	other := *ar
	other.client.redirectURI = "http://127.0.0.1:5000/other"
	wantOAuthError(t, "exchange with another redirect_uri", h.exchangeForm(&other, code), 400, "invalid_grant", "Redirect URI mismatch")
}

// TestOAuthClientOutsideAllowlist: a CIMD client id no allowlist entry
// matches is refused before anything is fetched.
func TestOAuthClientOutsideAllowlist(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	for _, id := range []string{"https://evil.example.com/client.json", "https://claude.ai.evil.example.com/client.json", "https://vscode.dev/redirect"} {
		c := oauthClient{id: id, redirectURI: cliRedirectURI}
		wantEnvelope(t, id, h.authorizeRaw(authorizeQuery(c, newPKCE(), "openid", "s")), 400, "InputError", "Invalid client_id '"+id+"'")
	}
	// A made-up DCR client id.
	c := oauthClient{id: "734bfbc3-cf2e-440c-8e3c-753f84661a8e", redirectURI: cliRedirectURI}
	wantEnvelope(t, "unknown DCR client", h.authorizeRaw(authorizeQuery(c, newPKCE(), "openid", "s")), 400, "InputError", "Invalid client_id")
}

// countingListener counts the connections a would-be CIMD host accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestOAuthCIMDPrivateAddress: a CIMD client id whose host resolves to a
// loopback address is refused by the real cimd.Fetcher (default options,
// as the gateway builds it) at connect time: the would-be host never sees
// a connection, and the answer names the problem without internal detail.
func TestOAuthCIMDPrivateAddress(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })}
	go func() { _ = srv.ServeTLS(cl, "", "") }()
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"localhost", "127.0.0.1"} {
		id := fmt.Sprintf("https://%s:%d/oauth/client.json", host, port)
		c := oauthClient{id: id, redirectURI: cliRedirectURI}
		msg := wantEnvelope(t, id, h.authorizeRaw(authorizeQuery(c, newPKCE(), "openid", "s")), 400, "InputError", "")
		t.Logf("%s: %q", host, msg)
		if !strings.Contains(strings.ToLower(msg), "client") {
			t.Errorf("%s: %q does not name the client metadata problem", id, msg)
		}
		for _, leak := range []string{"127.0.0.1", "::1", "dial", "refused", "not public"} {
			if strings.Contains(msg, leak) && !strings.Contains(id, leak) {
				t.Errorf("%s: the answer carries internal detail %q: %s", id, leak, msg)
			}
		}
	}
	if n := cl.n.Load(); n != 0 {
		t.Errorf("the loopback host accepted %d connections; the fetcher must refuse before connecting", n)
	}
}

// TestOAuthConsent: the consent routes need the signed-in user's full
// token; a session is decided once; a rejection sends the client
// error=access_denied with state and iss.
func TestOAuthConsent(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	service, err := h.gw.PluginKeys().ServiceToken(context.Background(), "auth")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("reject", func(t *testing.T) {
		ar := h.authorize(t, h.cli(), "openid offline_access")
		a := h.decide(ar.sessionID, "reject", user)
		if a.status != 200 {
			t.Fatalf("reject: %d %s", a.status, a.body)
		}
		u := redirectOf(t, a)
		q := u.Query()
		if q.Get("error") != "access_denied" || q.Get("error_description") != "User denied the request" || q.Get("state") != ar.state ||
			q.Get("iss") != h.authBase() || q.Has("code") || u.Path != "/callback" {
			t.Errorf("reject's redirectUrl: %s", u)
		}
		wantOAuthError(t, "approve after reject", h.decide(ar.sessionID, "approve", user), 400, "invalid_request", "")
	})
	t.Run("credentials", func(t *testing.T) {
		ar := h.authorize(t, h.cli(), "openid")
		for _, d := range []string{"approve", "reject"} {
			wantOAuthError(t, d+" without a token", h.decide(ar.sessionID, d, ""), 403, "access_denied", "Authentication required")
			wantOAuthError(t, d+" with a service token", h.decide(ar.sessionID, d, service), 403, "access_denied", "Authentication required")
			if a := h.decide(ar.sessionID, d, "not-a-token"); a.status != 401 {
				t.Errorf("%s with a garbage token: %d %s", d, a.status, a.body)
			}
		}
		// The session is still pending: the refusals decided nothing.
		h.approve(t, ar, user)
	})
	t.Run("approve twice", func(t *testing.T) {
		ar := h.authorize(t, h.cli(), "openid")
		h.approve(t, ar, user)
		wantOAuthError(t, "second approve", h.decide(ar.sessionID, "approve", user), 400, "invalid_request", "")
		wantOAuthError(t, "reject after approve", h.decide(ar.sessionID, "reject", user), 400, "invalid_request", "")
		wantOAuthError(t, "GET an approved session", h.oauthDo("GET", "/v1/sessions/"+ar.sessionID, nil, nil), 400, "invalid_request", "")
	})
	t.Run("unknown session", func(t *testing.T) {
		wantOAuthError(t, "unknown session", h.decide("8b0c5c0e-2d53-4d5b-9a39-5b0c2f8d9e11", "approve", user), 400, "invalid_request", "")
	})
}

// twoClients is a harness with two DCR clients, A and B, and alice's
// tokens for A and for the CLI: the cast of the client-binding tests.
type twoClients struct {
	h            *harness
	a, b         oauthClient
	accessA, rtA string
	rtCLI        string
}

func newTwoClients(t *testing.T) twoClients {
	t.Helper()
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	c := twoClients{h: h, a: h.register(t, "A", "http://127.0.0.1:5000/cb"), b: h.register(t, "B", "http://127.0.0.1:5001/cb")}
	c.accessA, c.rtA = h.grantTokens(t, c.a, user)
	_, c.rtCLI = h.grantTokens(t, h.cli(), user)
	return c
}

// TestOAuthRefreshBinding: a refresh token works only for the client it
// was issued to, public or confidential (spec §6.4).
func TestOAuthRefreshBinding(t *testing.T) {
	c := newTwoClients(t)
	h, a, b, rtA, rtCLI := c.h, c.a, c.b, c.rtA, c.rtCLI
	const notIssued = "Refresh token was not issued to this client"
	wantOAuthError(t, "A's token, B's credentials", h.refreshAs(b, rtA), 400, "invalid_grant", notIssued)
	wantOAuthError(t, "the CLI's token, B's credentials", h.refreshAs(b, rtCLI), 400, "invalid_grant", notIssued)
	other := h.postForm("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rtCLI}, "client_id": {"https://claude.ai/client.json"}}, nil)
	wantOAuthError(t, "the CLI's token naming another public client", other, 400, "invalid_grant", notIssued)
	// A confidential client's token without its credentials.
	wantOAuthError(t, "A's token without credentials", h.refreshAs(h.cli(), rtA), 401, "invalid_client", "")
	wrong := a
	wrong.secret = "wrong-secret"
	wantOAuthError(t, "A's token, A's id, a wrong secret", h.refreshAs(wrong, rtA), 401, "invalid_client", "")
	// None of the refusals spent or revoked anything.
	h.tokenAnswer(t, "A's own refresh", h.refreshAs(a, rtA), true)
	h.tokenAnswer(t, "the CLI's own refresh", h.refreshAs(h.cli(), rtCLI), true)
}

// TestOAuthRefreshReuse: a rotated-out refresh token presented again
// within the grace period gets the same new refresh token; after it, the
// whole family is revoked, the current token too (spec §6.5).
func TestOAuthRefreshReuse(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	for _, c := range []oauthClient{h.cli(), h.register(t, "reuse", "http://127.0.0.1:5000/cb")} {
		_, rt1 := h.grantTokens(t, c, user)
		_, rt2 := h.tokenAnswer(t, "rotation", h.refreshAs(c, rt1), true)
		// tokenAnswer verifies the replay's access token too.
		if _, replay := h.tokenAnswer(t, "reuse within the grace period", h.refreshAs(c, rt1), true); replay != rt2 {
			t.Errorf("reuse within the grace period: refresh token %q, want the same %q", replay, rt2)
		}
		_, rt3 := h.tokenAnswer(t, "the new token after a replay", h.refreshAs(c, rt2), true)
		h.clock.Add(oauthGracePeriod + time.Second)
		wantOAuthError(t, "reuse after the grace period", h.refreshAs(c, rt2), 400, "invalid_grant", "")
		wantOAuthError(t, "the current token after a reuse", h.refreshAs(c, rt3), 400, "invalid_grant", "")
	}
	if !strings.Contains(h.logs.String(), "level=WARN") {
		t.Errorf("refresh-token reuse was not logged at warn")
	}
}

// TestOAuthRevoke: only the owning client, or the token itself for a
// public client, revokes; the secret part is verified (spec §6.6, §6.22).
func TestOAuthRevoke(t *testing.T) {
	c := newTwoClients(t)
	h, a, b, accessA, rtA, rtCLI := c.h, c.a, c.b, c.accessA, c.rtA, c.rtCLI
	const notIssued = "The token was not issued to this client"
	wantOAuthError(t, "B revokes A's token", h.revokeAs(b, rtA), 400, "unauthorized_client", notIssued)
	wantOAuthError(t, "A's token without credentials", h.revokeAs(h.cli(), rtA), 401, "invalid_client", "")
	wantOAuthError(t, "B revokes the CLI's token", h.revokeAs(b, rtCLI), 400, "unauthorized_client", notIssued)
	other := h.postForm("/v1/revoke", url.Values{"token": {rtCLI}, "client_id": {"https://claude.ai/client.json"}}, nil)
	wantOAuthError(t, "the CLI's token naming another public client", other, 400, "unauthorized_client", notIssued)
	// Tokens that revoke nothing: 200, and the live ones still work.
	id := strings.Split(rtA, ".")[0]
	for name, tok := range map[string]string{
		"unknown":                          "8b0c5c0e-2d53-4d5b-9a39-5b0c2f8d9e11." + randomB64(32),
		"malformed":                        "garbage",
		"the right id with a wrong secret": id + "." + randomB64(32),
		"an access token":                  accessA,
	} {
		if r := h.revokeAs(a, tok); r.status != 200 || len(r.body) != 0 {
			t.Errorf("revoke %s: %d %s", name, r.status, r.body)
		}
	}
	_, rtA2 := h.tokenAnswer(t, "A after the refused revocations", h.refreshAs(a, rtA), true)
	// A rotated-out token revokes nothing either.
	if r := h.revokeAs(a, rtA); r.status != 200 {
		t.Errorf("revoke a rotated-out token: %d %s", r.status, r.body)
	}
	_, rtA3 := h.tokenAnswer(t, "A after revoking its rotated-out token", h.refreshAs(a, rtA2), true)
	// The owner revokes; CLI logout (no client_id) revokes.
	if r := h.revokeAs(a, rtA3); r.status != 200 {
		t.Fatalf("A revokes its token: %d %s", r.status, r.body)
	}
	wantOAuthError(t, "A after revocation", h.refreshAs(a, rtA3), 400, "invalid_grant", "")
	_, rtCLI2 := h.tokenAnswer(t, "CLI after the refused revocations", h.refreshAs(h.cli(), rtCLI), true)
	if r := h.revokeAs(h.cli(), rtCLI2); r.status != 200 {
		t.Fatalf("CLI logout: %d %s", r.status, r.body)
	}
	wantOAuthError(t, "CLI after logout", h.refreshAs(h.cli(), rtCLI2), 400, "invalid_grant", "")
}

// TestOAuthClientAuthentication: a DCR client is confidential at
// /v1/token for both grants; a public client sends no secret (spec §6.2).
// Each refusal gets its own code: whether a refused request spends the
// code is the server's choice (it burns codes presented with a wrong
// redirect_uri or verifier, see server/oauth/token.go).
func TestOAuthClientAuthentication(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	user := signInUser(t, h, "alice")
	dcr := h.register(t, "confidential", "http://127.0.0.1:5000/cb")
	codeForm := func(c oauthClient) url.Values {
		ar := h.authorize(t, c, "openid offline_access")
		code := h.approve(t, ar, user)
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirectURI}, "code_verifier": {ar.pkce.verifier}}
	}
	wantOAuthError(t, "DCR exchange without authentication", h.postForm("/v1/token", codeForm(dcr), nil), 401, "invalid_client", "")
	withID := codeForm(dcr)
	withID.Set("client_id", dcr.id)
	wantOAuthError(t, "DCR exchange with client_id only", h.postForm("/v1/token", withID, nil), 401, "invalid_client", "")
	wrong := dcr
	wrong.secret = "not-the-secret"
	wantOAuthError(t, "DCR exchange with a wrong secret", h.postForm("/v1/token", codeForm(dcr), &wrong), 401, "invalid_client", "")
	h.tokenAnswer(t, "DCR exchange with client_secret_basic", h.postForm("/v1/token", codeForm(dcr), &dcr), true)
	post := codeForm(dcr)
	post.Set("client_id", dcr.id)
	post.Set("client_secret", dcr.secret)
	h.tokenAnswer(t, "DCR exchange with client_secret_post", h.postForm("/v1/token", post, nil), true)

	// A public client that sends a secret.
	pub := codeForm(h.cli())
	pub.Set("client_id", h.cli().id)
	pub.Set("client_secret", "anything")
	wantOAuthError(t, "a public client with a secret", h.postForm("/v1/token", pub, nil), 401, "invalid_client", "")
	// Other token-endpoint refusals are OAuth-style and not cached.
	wantOAuthError(t, "unsupported grant", h.postForm("/v1/token", url.Values{"grant_type": {"password"}}, nil), 400, "unsupported_grant_type", "Grant type password is not supported")
	wantOAuthError(t, "no grant", h.postJSON("/v1/token", map[string]string{}, nil), 400, "invalid_request", "")
}

// TestOAuthOffByDefault: without DCR and CIMD the routes are not mounted
// and answer Backstage's 404 envelope (spec §2.12).
func TestOAuthOffByDefault(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/authorize?client_id=x"}, {"POST", "/v1/token"}, {"POST", "/v1/revoke"}, {"POST", "/v1/register"},
		{"GET", "/v1/sessions/x"}, {"POST", "/v1/sessions/x/approve"},
	} {
		a := h.oauthDo(r.method, r.path, nil, nil)
		wantEnvelope(t, r.method+" "+r.path, a, 404, "NotFoundError", "Unknown auth provider 'v1'")
	}
}

// TestOAuthDiscovery: what an MCP client reads first (RFC 8414 at <A> and
// in path-insertion form at the root, the OpenID document) advertises S256
// only, RFC 9207's iss, and the endpoints these tests use; the CLI's
// client document is served.
func TestOAuthDiscovery(t *testing.T) {
	h := newOAuthHarness(t, harnessOptions{})
	for _, u := range []string{h.base + "/api/auth/.well-known/openid-configuration", h.base + "/api/auth/.well-known/oauth-authorization-server",
		h.base + "/.well-known/oauth-authorization-server/api/auth"} {
		resp, err := noRedirects.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, err)
		}
		base := h.authBase()
		if doc["issuer"] != base || doc["authorization_endpoint"] != base+"/v1/authorize" || doc["token_endpoint"] != base+"/v1/token" ||
			doc["revocation_endpoint"] != base+"/v1/revoke" || doc["registration_endpoint"] != base+"/v1/register" ||
			fmt.Sprint(doc["code_challenge_methods_supported"]) != "[S256]" || doc["authorization_response_iss_parameter_supported"] != true ||
			doc["client_id_metadata_document_supported"] != true {
			t.Errorf("%s: %v", u, doc)
		}
	}
	a := h.oauthDo("GET", "/.well-known/oauth-client/cli.json", nil, nil)
	if a.status != 200 || a.str("client_id") != h.cli().id || fmt.Sprint(a.json["redirect_uris"]) != "["+cliRedirectURI+"]" {
		t.Errorf("cli.json: %d %s", a.status, a.body)
	}
}
