package oauth

import "testing"

func TestHarnessMountsRoutes(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	if r := h.do("GET", "/api/auth/v1/authorize", "", ""); r.Status == 404 {
		t.Fatalf("authorize not mounted: %d", r.Status)
	}
	off := newHarness(t, Config{AuthBaseURL: testAuthBase, AppBaseURL: testAppBase}, nil)
	if r := off.do("POST", "/api/auth/v1/token", "", ""); r.Status != 404 && r.Status != 405 {
		t.Fatalf("token mounted with DCR and CIMD off: %d", r.Status)
	}
}
