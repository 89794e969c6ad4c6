package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/providertest"
)

const fakeSecret = "fake-test-session-secret"

// openIDTokenCookie opens the harness's fake-id-token cookie (chunked or
// not) with the server's sealer.
func (h *fakeHarness) openIDTokenCookie() (string, bool) {
	h.t.Helper()
	v := h.cookie("fake-id-token")
	if v == "" {
		for i := 0; ; i++ {
			c := h.cookie("fake-id-token-" + strconv.Itoa(i))
			if c == "" {
				break
			}
			v += c
		}
	}
	s, err := newIDTokenSealer(fakeSecret)
	if err != nil {
		h.t.Fatal(err)
	}
	return s.open("fake", "development", v)
}

// TestIDTokenSealer: the cookie opens only with the same secret, provider
// and env, and never as a transaction cookie (its own HKDF label).
func TestIDTokenSealer(t *testing.T) {
	s, err := newIDTokenSealer("secret-1")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal("vcfsso", "development", "id.token.value")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "id.token") {
		t.Fatal("the sealed cookie shows the token")
	}
	if tok, ok := s.open("vcfsso", "development", sealed); !ok || tok != "id.token.value" {
		t.Fatalf("open = %q, %v", tok, ok)
	}
	other, _ := newIDTokenSealer("secret-2")
	for name, open := range map[string]func() (string, bool){
		"other provider": func() (string, bool) { return s.open("oidc", "development", sealed) },
		"other env":      func() (string, bool) { return s.open("vcfsso", "production", sealed) },
		"other secret":   func() (string, bool) { return other.open("vcfsso", "development", sealed) },
		"empty":          func() (string, bool) { return s.open("vcfsso", "development", "") },
		"not base64":     func() (string, bool) { return s.open("vcfsso", "development", "%%%") },
		"short":          func() (string, bool) { return s.open("vcfsso", "development", "AAAA") },
		"tampered":       func() (string, bool) { return s.open("vcfsso", "development", sealed[:len(sealed)-2]+"AA") },
	} {
		if tok, ok := open(); ok || tok != "" {
			t.Errorf("%s: opened %q", name, tok)
		}
	}
	txn, _ := newSealer("secret-1", nil)
	if _, err := txn.open("vcfsso", "development", "", sealed); err == nil {
		t.Error("the transaction sealer opened an id-token cookie")
	}
	if _, err := newIDTokenSealer(""); err == nil {
		t.Error("no secret accepted")
	}
}

// TestLogoutEndSession: the ID token of the sign-in is kept sealed in the
// fake-id-token cookie, updated at refresh, and handed to the provider at
// logout with client-side settings; the cookies are cleared whatever the
// provider answers.
func TestLogoutEndSession(t *testing.T) {
	p := providertest.New()
	p.LogoutURL = "https://idp.example/end_session?client_id=c&state=s"
	h := newFakeHarness(t, p, p, emailProfile, resolveAlice)
	h.frame(h.start("env=development"))
	if tok, ok := h.openIDTokenCookie(); !ok || tok != "id-1" {
		t.Fatalf("id-token cookie after sign-in opens to %q, %v", tok, ok)
	}
	p.RefreshResult = &providers.Result{
		Session:       providers.Session{AccessToken: "at-2", TokenType: "Bearer", IDToken: "id-2", Scope: "openid"},
		IDTokenClaims: map[string]any{"sub": "alice", "email": "alice@example.com"},
	}
	if resp, body := h.do("GET", "/api/auth/fake/refresh?env=development", xhr); resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	if tok, ok := h.openIDTokenCookie(); !ok || tok != "id-2" {
		t.Fatalf("id-token cookie after refresh opens to %q, %v", tok, ok)
	}
	resp, body := h.do("POST", "/api/auth/fake/logout?env=development", xhr)
	var got struct {
		LogoutURL string `json:"logoutUrl"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || got.LogoutURL != p.LogoutURL {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if h.cookie("fake-id-token") != "" || h.cookie("fake-refresh-token") != "" {
		t.Fatal("a cookie survived logout")
	}
	calls := p.Calls().Logout
	if len(calls) != 1 {
		t.Fatalf("logout calls %+v", calls)
	}
	c := calls[0]
	if c.RefreshToken != "refresh-1" || c.IDTokenHint != "id-2" || !c.EndSession || c.PostLogoutRedirectURI != flowApp || len(c.State) < 20 {
		t.Fatalf("logout request %+v", c)
	}
	// Signed out, the browser has no session: the provider is not asked.
	h.do("POST", "/api/auth/fake/logout?env=development", xhr)
	if n := len(p.Calls().Logout); n != 1 {
		t.Fatalf("%d logout calls without a session", n)
	}
}

// TestLogoutSignOutSettings: signOut.postLogoutRedirectUrl replaces
// app.baseUrl; signOut.endSession false keeps no ID token and asks for no
// end-session URL, but still revokes; a long ID token is chunked.
func TestLogoutSignOutSettings(t *testing.T) {
	t.Run("postLogoutRedirectUrl", func(t *testing.T) {
		p := providertest.New()
		h := newFakeHarnessWith(t, p, p, emailProfile, resolveAlice, func(env *Environment) {
			env.SignOut.PostLogoutRedirectURL = "https://app.example/bye?x=1"
		})
		h.frame(h.start("env=development"))
		h.do("POST", "/api/auth/fake/logout?env=development", xhr)
		if c := p.Calls().Logout; len(c) != 1 || c[0].PostLogoutRedirectURI != "https://app.example/bye?x=1" {
			t.Fatalf("logout calls %+v", c)
		}
	})
	t.Run("endSession false", func(t *testing.T) {
		p := providertest.New()
		h := newFakeHarnessWith(t, p, p, emailProfile, resolveAlice, func(env *Environment) { env.SignOut.KeepIdPSession = true })
		h.frame(h.start("env=development"))
		if h.cookie("fake-id-token") != "" {
			t.Fatal("an id-token cookie was set with signOut.endSession false")
		}
		h.do("POST", "/api/auth/fake/logout?env=development", xhr)
		c := p.Calls().Logout
		if len(c) != 1 || c[0] != (providers.LogoutRequest{RefreshToken: "refresh-1"}) {
			t.Fatalf("logout calls %+v", c)
		}
	})
	t.Run("no LogoutHandler", func(t *testing.T) {
		p := providertest.New()
		h := newFakeHarness(t, p, providertest.Basic{P: p}, emailProfile, resolveAlice)
		h.frame(h.start("env=development"))
		if h.cookie("fake-refresh-token") == "" || h.cookie("fake-id-token") != "" {
			t.Fatal("want a refresh cookie and no id-token cookie")
		}
	})
	t.Run("long ID token", func(t *testing.T) {
		p := providertest.New()
		long := strings.Repeat("x", 5000)
		p.Result.Session.IDToken = long
		h := newFakeHarness(t, p, p, emailProfile, resolveAlice)
		h.frame(h.start("env=development"))
		if h.cookie("fake-id-token-0") == "" || h.cookie("fake-id-token-1") == "" {
			t.Fatal("a long id-token cookie was not chunked")
		}
		h.do("POST", "/api/auth/fake/logout?env=development", xhr)
		if c := p.Calls().Logout; len(c) != 1 || c[0].IDTokenHint != long {
			t.Fatalf("the chunked ID token did not reach logout (%d calls)", len(c))
		}
		if h.cookie("fake-id-token-0") != "" || h.cookie("fake-id-token-1") != "" {
			t.Fatal("id-token chunks survived logout")
		}
	})
}

// FuzzIDTokenCookieOpen: any cookie value opens or is refused and never
// panics; what opens is what was sealed (the fuzzing workers seal their own
// seed, so "which cookie" cannot be compared across processes).
func FuzzIDTokenCookieOpen(f *testing.F) {
	s, err := newIDTokenSealer(fakeSecret)
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.seal("fake", "development", "id-1")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, "", "%%%", "AAAA", good[:len(good)-1]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		tok, ok := s.open("fake", "development", cookie)
		if (ok && tok != "id-1") || (!ok && tok != "") || (cookie == good && !ok) {
			t.Fatalf("open(%q) = %q, %v", cookie, tok, ok)
		}
	})
}
