package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDemoHandler: the page is served at "/" and, as the consent page, at
// /oauth2/authorize/<id>; nothing else.
func TestDemoHandler(t *testing.T) {
	h := demoHandler([]byte("page"))
	for path, want := range map[string]int{
		"/":                           http.StatusOK,
		"/oauth2/authorize/7f0c8710":  http.StatusOK,
		"/oauth2/authorize/":          http.StatusNotFound,
		"/oauth2/authorize/a/b":       http.StatusNotFound,
		"/elsewhere":                  http.StatusNotFound,
		"/oauth2/authorize-something": http.StatusNotFound,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want || (want == http.StatusOK && w.Body.String() != "page") {
			t.Errorf("GET %s = %d %q, want %d", path, w.Code, w.Body.String(), want)
		}
	}
}
