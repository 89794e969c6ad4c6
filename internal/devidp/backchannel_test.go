package devidp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// rpRecorder is a relying party's back-channel logout endpoint that keeps
// the logout tokens posted to it and answers with status.
type rpRecorder struct {
	mu     sync.Mutex
	tokens []string
	status int
}

func (r *rpRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	_ = req.ParseForm()
	r.mu.Lock()
	r.tokens = append(r.tokens, req.PostForm.Get("logout_token"))
	status := r.status
	r.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"invalid_request"}`)
	}
}

func (r *rpRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// TestEndSessionSendsBackchannelLogout: signing out at end_session posts a
// logout token, signed with the keys the JWKS publishes, to the client's
// back-channel logout URI.
func TestEndSessionSendsBackchannelLogout(t *testing.T) {
	rp := &rpRecorder{}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	idp := startWith(t, Config{
		Users:   testUsers,
		Clients: []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}, BackchannelLogoutURI: srv.URL + "/bcl"}},
	})
	f := newFlow(t, idp, oauth2.AuthStyleInHeader)
	c := browser(t)
	tok := f.exchange(f.login(c, "alice", "alice-pw").Get("code"))
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
		JWKS       string `json:"jwks_uri"`
	}
	_ = f.provider.Claims(&meta)
	resp, body := get(t, c, meta.EndSession+"?"+url.Values{"id_token_hint": {tok.Extra("id_token").(string)}}.Encode())
	if resp.StatusCode >= 400 {
		t.Fatalf("end_session: %d %s", resp.StatusCode, body)
	}
	got := rp.got()
	if len(got) != 1 {
		t.Fatalf("the RP received %d logout tokens, want 1", len(got))
	}
	payload, err := oidc.NewRemoteKeySet(t.Context(), meta.JWKS).VerifySignature(t.Context(), got[0])
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	events, _ := claims["events"].(map[string]any)
	if claims["iss"] != idp.Issuer() || claims["aud"] != testClientID || claims["sub"] != "alice" || claims["jti"] == "" || claims["nonce"] != nil || events[backchannelLogoutEvent] == nil {
		t.Errorf("logout token claims = %v", claims)
	}
}

func TestBackchannelLogoutErrors(t *testing.T) {
	rp := &rpRecorder{status: http.StatusBadRequest}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	idp := startWith(t, Config{
		Users: testUsers,
		Clients: []Client{
			{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}, BackchannelLogoutURI: srv.URL},
			{ID: "plain", Secret: "s", RedirectURIs: []string{testRedirect}},
		},
	})
	if err := idp.BackchannelLogout(t.Context(), "plain", "alice"); err == nil || !strings.Contains(err.Error(), "no back-channel logout URI") {
		t.Errorf("client without URI: %v", err)
	}
	err := idp.BackchannelLogout(t.Context(), testClientID, "alice")
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || strings.Contains(err.Error(), rp.got()[0]) {
		t.Errorf("RP refusing: %v (must not quote the token)", err)
	}
	if _, err := Start(t.Context(), Config{Users: testUsers, Clients: []Client{{ID: "x", Secret: "s", RedirectURIs: []string{testRedirect}, BackchannelLogoutURI: "relative/path"}}}); err == nil || !strings.Contains(err.Error(), "back-channel logout URI") {
		t.Errorf("bad URI: %v", err)
	}
}
