package requestid_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/requestid"
)

func TestEveryLineOfARequestCarriesItsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(requestid.NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "one")
		log.WithGroup("g").InfoContext(r.Context(), "two", "k", "v")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(requestid.Header, "proxy-id-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Header().Get(requestid.Header); got != "proxy-id-1" {
		t.Errorf("echoed %q", got)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"request_id":"proxy-id-1"`) {
			t.Errorf("no request id in %s", l)
		}
	}
	// Without a request, no id is made up.
	buf.Reset()
	log.InfoContext(context.Background(), "outside")
	if strings.Contains(buf.String(), "request_id") {
		t.Errorf("a line outside a request has an id: %s", buf.String())
	}
}

func TestBadIncomingIDsAreReplaced(t *testing.T) {
	for _, in := range []string{"", "a b", "x\ny", strings.Repeat("a", 65), "<script>"} {
		var seen string
		h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = requestid.FromContext(r.Context()) }))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header[requestid.Header] = []string{in}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if seen == in || len(seen) != 24 || rec.Header().Get(requestid.Header) != seen {
			t.Errorf("incoming %q: context %q, header %q", in, seen, rec.Header().Get(requestid.Header))
		}
	}
}
