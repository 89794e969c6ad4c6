package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

func TestRegister(t *testing.T) {
	var logs testlog.Buffer
	h := newHarness(t, testConfig(), withLog(&logs))
	r := h.postJSON(registerPath, map[string]any{"client_name": "Demo", "redirect_uris": []string{"http://127.0.0.1:5000/cb"}})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	want := "client_id redirect_uris client_secret client_id_issued_at client_secret_expires_at token_endpoint_auth_method grant_types response_types"
	if keys := jsonKeys(t, r.Body); keys != want {
		t.Errorf("keys %q; want %q", keys, want)
	}
	m := r.JSON(t)
	id, secret := m["client_id"].(string), m["client_secret"].(string)
	if u, err := uuid.Parse(id); err != nil || u.Version() != 4 {
		t.Errorf("client_id %q is not a UUIDv4", id)
	}
	if len(secret) != 43 {
		t.Errorf("secret %q", secret)
	}
	if m["client_secret_expires_at"] != float64(0) || m["token_endpoint_auth_method"] != "client_secret_basic" ||
		m["client_id_issued_at"] != float64(h.clock.Now().Unix()) {
		t.Errorf("answer %v", m)
	}
	if !strings.Contains(r.Body, `"grant_types":["authorization_code","refresh_token"],"response_types":["code"]`) {
		t.Errorf("defaults: %s", r.Body)
	}
	cl, err := h.store.GetClient(context.Background(), id)
	if err != nil || cl.SecretHash != identity.HashSecret(secret) || cl.Name != "Demo" || cl.Expires.IsZero() {
		t.Errorf("stored %+v, %v", cl, err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the client secret reached the log")
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("registration answer without no-store")
	}
}

func TestRegisterUnnamed(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id, _ := h.registerClient(map[string]any{"redirect_uris": []string{"http://localhost:3000/callback"}})
	cl, _ := h.store.GetClient(context.Background(), id)
	if cl.Name != "Unnamed client (localhost:3000)" {
		t.Errorf("name %q", cl.Name)
	}
}

func TestRegisterErrors(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	tests := []struct {
		body       map[string]any
		code, desc string
	}{
		{map[string]any{}, "invalid_request", `Validation error: Invalid input: expected array, received undefined at "redirect_uris"`},
		{map[string]any{"redirect_uris": []string{}}, "invalid_request", `Validation error: Too small: expected array to have >=1 items at "redirect_uris"`},
		{map[string]any{"redirect_uris": []string{"not a url"}}, "invalid_request", `Validation error: Invalid URL at "redirect_uris[0]"`},
		{map[string]any{"redirect_uris": []string{"https://evil.example.com/cb"}}, "invalid_request", "Invalid redirect_uri 'https://evil.example.com/cb'"},
		{map[string]any{"redirect_uris": []string{"http://u:p@localhost:1234/cb"}}, "invalid_request", "Invalid redirect_uri 'http://localhost:1234/cb'"},
		{map[string]any{"redirect_uris": []string{testRedirect}, "grant_types": []string{"client_credentials"}}, "invalid_client_metadata", `Unsupported grant_type "client_credentials"`},
		{map[string]any{"redirect_uris": []string{testRedirect}, "grant_types": []string{"refresh_token"}}, "invalid_client_metadata", "grant_types must include authorization_code"},
		{map[string]any{"redirect_uris": []string{testRedirect}, "response_types": []string{"token"}}, "invalid_client_metadata", `Unsupported response_type "token"`},
	}
	for _, tt := range tests {
		wantOAuthErrorRaw(t, h.postJSON(registerPath, tt.body), 400, tt.code, tt.desc)
	}
	wantOAuthErrorRaw(t, h.form(registerPath, url.Values{"redirect_uris": {testRedirect}}), 400, "invalid_request",
		`Validation error: Invalid input: expected array, received string at "redirect_uris"`)
	if r := h.form(registerPath, url.Values{"redirect_uris": {testRedirect, "http://localhost/cb"}}); r.Status != 201 {
		t.Errorf("form with repeated keys: %d %s", r.Status, r.Body)
	}
}

func TestRegisterRateLimit(t *testing.T) {
	h := newHarness(t, testConfig(), func(o *Options) { o.RegisterRate = 2 })
	body := map[string]any{"redirect_uris": []string{testRedirect}}
	for range 2 {
		if r := h.postJSON(registerPath, body); r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	r := h.postJSON(registerPath, body, "X-Forwarded-For", "203.0.113.9")
	wantOAuthError(t, r, 429, "invalid_request", "Too many registrations from this address; try again later")
	if r.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	h.clock.Advance(30 * time.Second)
	if r := h.postJSON(registerPath, body); r.Status != 201 {
		t.Errorf("after the wait: %d %s", r.Status, r.Body)
	}
}

func TestAddressLimiterBounded(t *testing.T) {
	l := newAddressLimiter(1, time.Minute)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for range maxLimitedAddresses + 5 {
		l.allow(uuid.NewString(), now)
	}
	if len(l.byAddr) > maxLimitedAddresses {
		t.Errorf("%d limiters kept", len(l.byAddr))
	}
}
