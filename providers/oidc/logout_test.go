package oidc_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// TestLogoutURL: with an end_session_endpoint, Logout returns the
// RP-Initiated Logout 1.0 URL: the endpoint's own query kept, id_token_hint
// (when known), client_id, post_logout_redirect_uri and state, escaped;
// none with EndSession off or without the endpoint.
func TestLogoutURL(t *testing.T) {
	withEndSession := func(endpoint string) func(f *fakeIdP) {
		return func(f *fakeIdP) { f.metadata = func(m map[string]any) { m["end_session_endpoint"] = endpoint } }
	}
	req := providers.LogoutRequest{
		RefreshToken:          "rt-1",
		IDTokenHint:           "eyJhbGciOiJSUzI1NiJ9.e30.sig",
		EndSession:            true,
		PostLogoutRedirectURI: "https://app.example/signed-out?a=1&b=two words",
		State:                 "st/ate+1",
	}
	t.Run("all parameters", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(withEndSession(f.issuer() + "/logout?tenant=t1#frag"))
		got, err := f.provider(t, nil).Logout(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme+"://"+u.Host+u.Path != f.issuer()+"/logout" || u.Fragment != "" {
			t.Fatalf("logout URL %q", got)
		}
		want := url.Values{
			"tenant":                   {"t1"},
			"id_token_hint":            {req.IDTokenHint},
			"client_id":                {testClient},
			"post_logout_redirect_uri": {req.PostLogoutRedirectURI},
			"state":                    {req.State},
		}
		if q := u.Query(); q.Encode() != want.Encode() {
			t.Fatalf("query %v, want %v", q, want)
		}
		if strings.Contains(u.RawQuery, "two words") || strings.Contains(u.RawQuery, "st/ate+1") {
			t.Fatalf("query not escaped: %s", u.RawQuery)
		}
		if len(f.revokeRequests) != 1 {
			t.Fatalf("%d revocations", len(f.revokeRequests))
		}
	})
	t.Run("no id token, no refresh token", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(withEndSession(f.issuer() + "/logout"))
		got, err := f.provider(t, nil).Logout(t.Context(), providers.LogoutRequest{EndSession: true, PostLogoutRedirectURI: "http://localhost:3000"})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(got)
		if q := u.Query(); q.Has("id_token_hint") || q.Has("state") || q.Get("client_id") != testClient || q.Get("post_logout_redirect_uri") != "http://localhost:3000" {
			t.Fatalf("logout URL %q", got)
		}
		if len(f.revokeRequests) != 0 {
			t.Fatal("revoked without a refresh token")
		}
	})
	t.Run("endSession off", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(withEndSession(f.issuer() + "/logout"))
		off := req
		off.EndSession = false
		if got, err := f.provider(t, nil).Logout(t.Context(), off); err != nil || got != "" {
			t.Fatalf("Logout = %q, %v", got, err)
		}
	})
	t.Run("no end_session_endpoint", func(t *testing.T) {
		f := newFakeIdP(t)
		if got, err := f.provider(t, nil).Logout(t.Context(), req); err != nil || got != "" {
			t.Fatalf("Logout = %q, %v", got, err)
		}
	})
	t.Run("revocation fails, URL kept", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(withEndSession(f.issuer() + "/logout"))
		f.set(func(f *fakeIdP) {
			prev := f.metadata
			f.metadata = func(m map[string]any) { prev(m); m["revocation_endpoint"] = "http://127.0.0.1:1/revoke" }
		})
		got, err := f.provider(t, nil).Logout(t.Context(), req)
		if err == nil || !strings.HasPrefix(got, f.issuer()+"/logout?") {
			t.Fatalf("Logout = %q, %v", got, err)
		}
	})
	t.Run("bad end_session_endpoint", func(t *testing.T) {
		f := newFakeIdP(t)
		f.set(withEndSession("javascript:alert(1)"))
		got, err := f.provider(t, nil).Logout(t.Context(), req)
		if err == nil || got != "" || !strings.Contains(err.Error(), "end_session_endpoint") {
			t.Fatalf("Logout = %q, %v", got, err)
		}
	})
}
