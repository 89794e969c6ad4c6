package devidptest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// Answer is a handler for fake IdP endpoints that answers with code, the
// content type ("" for none) and body.
func Answer(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

// WantError fails t unless err is an autherr error of the given name
// (autherr.NameAuthentication, ...) whose message contains want. An empty
// want means err must be nil, and fails t at once otherwise.
func WantError(t testing.TB, err error, name, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted, want a %s containing %q", name, want)
	}
	if !autherr.Is(err, name) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %s %q, want a %s containing %q", autherr.NameOf(err), err, name, want)
	}
}
