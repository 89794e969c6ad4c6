package vmwarecloud

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// TestLogout: with an ID token and EndSession, Logout POSTs CSP's logout
// API ({"idToken"}, orgId, post_logout_redirect_uri, state) and returns the
// url it answers; without either it asks nothing; bad answers are errors.
func TestLogout(t *testing.T) {
	// mu guards got, gotBody and answer: the handler runs on the server's
	// goroutines.
	var mu sync.Mutex
	var got *http.Request
	var gotBody string
	answer := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"url":"https://idp.example/logout?x=1"}`)
	}
	setAnswer := func(a http.HandlerFunc) { mu.Lock(); answer = a; mu.Unlock() }
	seen := func() (*http.Request, string) { mu.Lock(); defer mu.Unlock(); return got, gotBody }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r.Clone(r.Context()), string(b)
		a := answer
		mu.Unlock()
		a(w, r)
	}))
	t.Cleanup(srv.Close)
	p, err := New(Config{ClientID: testClient, OrganizationID: testOrg, ConsoleEndpoint: srv.URL, CallbackURL: testCallback})
	if err != nil {
		t.Fatal(err)
	}
	req := providers.LogoutRequest{RefreshToken: "rt", IDTokenHint: "id.token.sig", EndSession: true, PostLogoutRedirectURI: "https://app.example/a b", State: "st"}
	u, err := p.Logout(t.Context(), req)
	if err != nil || u != "https://idp.example/logout?x=1" {
		t.Fatalf("Logout = %q, %v", u, err)
	}
	req1, body1 := seen()
	q := req1.URL.Query()
	if req1.Method != http.MethodPost || req1.URL.Path != logoutPath || q.Get("orgId") != testOrg ||
		q.Get("post_logout_redirect_uri") != "https://app.example/a b" || q.Get("state") != "st" ||
		req1.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", req1.Method, req1.URL, req1.Header)
	}
	var body map[string]string
	if json.Unmarshal([]byte(body1), &body) != nil || body["idToken"] != "id.token.sig" || len(body) != 1 {
		t.Fatalf("body %s", body1)
	}

	for _, r := range []providers.LogoutRequest{{RefreshToken: "rt", EndSession: true}, {RefreshToken: "rt", IDTokenHint: "id"}} {
		if u, err := p.Logout(t.Context(), r); u != "" || err != nil {
			t.Fatalf("Logout(%+v) = %q, %v", r, u, err)
		}
		if again, _ := seen(); again != req1 {
			t.Fatalf("Logout(%+v) asked CSP", r)
		}
	}

	for body, want := range map[string]string{
		`{"url":"javascript:alert(1)"}`: "not an absolute http(s) URL",
		`{}`:                            "has no url",
		`not json`:                      "has no url",
	} {
		setAnswer(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) })
		if u, err := p.Logout(t.Context(), req); u != "" || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("answer %s: Logout = %q, %v", body, u, err)
		}
	}
	setAnswer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	if _, err := p.Logout(t.Context(), req); err == nil || err.Error() != "CSP logout API answered HTTP 404" {
		t.Errorf("404: %v", err)
	}
}
