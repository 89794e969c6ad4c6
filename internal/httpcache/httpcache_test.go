package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStrongETag(t *testing.T) {
	a, b := StrongETag([]byte(`{"keys":[]}`)), StrongETag([]byte(`{"keys":[{}]}`))
	if len(a) != etagHashChars+2 || a[0] != '"' || a[len(a)-1] != '"' {
		t.Errorf("StrongETag = %s, want a quoted %d-character tag", a, etagHashChars)
	}
	if a == b || a != StrongETag([]byte(`{"keys":[]}`)) {
		t.Errorf("tags %s and %s: want equal for equal bodies only", a, b)
	}
}

func TestPublicMaxAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "public, max-age=0",
		-time.Second:            "public, max-age=0",
		time.Millisecond:        "public, max-age=1",
		time.Second:             "public, max-age=1",
		1500 * time.Millisecond: "public, max-age=2",
		time.Hour:               "public, max-age=3600",
	} {
		if got := PublicMaxAge(d); got != want {
			t.Errorf("PublicMaxAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNoneMatchFails(t *testing.T) {
	const tag = `"abc"`
	for _, tc := range []struct {
		name   string
		fields []string
		want   bool
	}{
		{"absent", nil, false},
		{"empty", []string{""}, false},
		{"same", []string{`"abc"`}, true},
		{"other", []string{`"abd"`}, false},
		{"weak request tag (weak comparison)", []string{`W/"abc"`}, true},
		{"weak other", []string{`W/"abd"`}, false},
		{"star", []string{"*"}, true},
		{"list", []string{`"x", "y" ,"abc"`}, true},
		{"list without", []string{`"x", W/"y"`}, false},
		{"several field lines", []string{`"x"`, `W/"abc"`}, true},
		{"unquoted", []string{`abc`}, false},
		{"lowercase weak prefix is not one", []string{`w/"abc"`}, false},
		{"star inside a list", []string{`"x", *`}, true},
	} {
		if got := NoneMatchFails(tc.fields, tag); got != tc.want {
			t.Errorf("%s: NoneMatchFails(%q) = %v, want %v", tc.name, tc.fields, got, tc.want)
		}
	}
	if !NoneMatchFails([]string{`"abc"`}, `W/"abc"`) {
		t.Error("a weak stored tag must match by the weak comparison")
	}
}

func TestServe(t *testing.T) {
	d := NewDocument([]byte(`{"a":1}`), "public, max-age=60")
	for _, tc := range []struct {
		name, method, inm string
		status            int
		body              string
	}{
		{"no condition", http.MethodGet, "", 200, `{"a":1}`},
		{"match", http.MethodGet, d.ETag, 304, ""},
		{"weak match", http.MethodGet, "W/" + d.ETag, 304, ""},
		{"star", http.MethodGet, "*", 304, ""},
		{"stale tag", http.MethodGet, `"old"`, 200, `{"a":1}`},
		{"HEAD match", http.MethodHead, d.ETag, 304, ""},
		{"POST ignores it", http.MethodPost, d.ETag, 200, `{"a":1}`},
	} {
		r := httptest.NewRequest(tc.method, "/doc", nil)
		if tc.inm != "" {
			r.Header.Set("If-None-Match", tc.inm)
		}
		w := httptest.NewRecorder()
		if err := Serve(w, r, d); err != nil {
			t.Fatal(err)
		}
		h := w.Header()
		if w.Code != tc.status || w.Body.String() != tc.body || h.Get("ETag") != d.ETag || h.Get("Cache-Control") != "public, max-age=60" {
			t.Errorf("%s: %d %q ETag %q Cache-Control %q", tc.name, w.Code, w.Body, h.Get("ETag"), h.Get("Cache-Control"))
		}
		wantType, wantLength := "application/json; charset=utf-8", "7"
		if tc.status == 304 {
			wantType, wantLength = "", ""
		}
		if h.Get("Content-Type") != wantType || h.Get("Content-Length") != wantLength {
			t.Errorf("%s: Content-Type %q, Content-Length %q, want %q, %q", tc.name, h.Get("Content-Type"), h.Get("Content-Length"), wantType, wantLength)
		}
	}
	// No tag, no validator: always 200, and no ETag header.
	r := httptest.NewRequest(http.MethodGet, "/doc", nil)
	r.Header.Set("If-None-Match", "*")
	w := httptest.NewRecorder()
	_ = Serve(w, r, Document{Body: []byte(`{}`)})
	if w.Code != 200 || w.Header().Get("ETag") != "" || w.Header().Get("Cache-Control") != "" || w.Header().Get("Content-Length") != "2" {
		t.Errorf("untagged document: %d ETag %q", w.Code, w.Header().Get("ETag"))
	}
}
