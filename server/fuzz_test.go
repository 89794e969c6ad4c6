package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// FuzzCookieChunks: whatever value is set, the cookies Gatehouse writes,
// sent back by a browser, read back as that value (chunked above 4000
// characters or not); and any Cookie header reads without a panic.
func FuzzCookieChunks(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", "")
	f.Add("ab+c/d==", "vcfsso-refresh-token=old; vcfsso-refresh-token-0=x")
	f.Add(strings.Repeat("x", 9000), "vcfsso-refresh-token-0=a; vcfsso-refresh-token-1=b; vcfsso-refresh-token-2=c; vcfsso-refresh-token-3=d")
	f.Add(strings.Repeat("é%;\"", 1500), "vcfsso-refresh-token-0=%E0%A4%A; vcfsso-refresh-token-1=%%")
	f.Add("openid profile email offline_access", "vcfsso-refresh-token=a%20b")
	f.Fuzz(func(t *testing.T, value, cookieHeader string) {
		jar, err := newCookieJar("vcfsso", "http://localhost:7007/api/auth/vcfsso/handler/frame", 0, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		name := jar.refreshName()

		// Reading an arbitrary Cookie header.
		raw := httptest.NewRequest("GET", "/api/auth/vcfsso/refresh", nil)
		raw.Header.Set("Cookie", cookieHeader)
		if got := jar.get(raw, name); len(got) > len(cookieHeader) {
			t.Fatalf("read %d bytes from a %d-byte Cookie header", len(got), len(cookieHeader))
		}

		if len(value) > jar.maxChunks*maxCookieChars {
			return // not writable in maxChunks chunks
		}
		h := http.Header{}
		jar.setRefreshToken(h, raw, value, "")
		// What a browser sends back: the last Set-Cookie of each name wins,
		// and an empty value with Max-Age=0 deletes.
		kept := map[string]string{}
		var order []string
		for _, line := range h.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
			}
			if _, seen := kept[c.Name]; !seen {
				order = append(order, c.Name)
			}
			if c.MaxAge < 0 || c.Value == "" {
				delete(kept, c.Name)
				continue
			}
			kept[c.Name] = c.Value
		}
		back := httptest.NewRequest("GET", "/api/auth/vcfsso/refresh", nil)
		for _, n := range order {
			if v, ok := kept[n]; ok {
				back.AddCookie(&http.Cookie{Name: n, Value: v})
			}
		}
		if got := jar.get(back, name); got != value {
			t.Fatalf("set %d bytes, read back %d bytes", len(value), len(got))
		}
		if n := strings.Count(back.Header.Get("Cookie"), name+"-"); n > jar.maxChunks {
			t.Fatalf("%d chunks", n)
		}
	})
}

// FuzzTransactionOpen: any cookie opens without a panic, to a
// NotAllowedError or to a transaction; a sealed one opens to what was
// sealed, for its own login only.
func FuzzTransactionOpen(f *testing.F) {
	s, err := newSealer("fuzz-secret", fixedNow)
	if err != nil {
		f.Fatal(err)
	}
	real, err := s.seal("vcfsso", "development", "frlOeCTBg8R1XwT6I4aQqQ==", providers.Transaction{Nonce: "n0nce", CodeVerifier: strings.Repeat("v", 43)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real, "frlOeCTBg8R1XwT6I4aQqQ==", "n0nce", strings.Repeat("v", 43))
	f.Add(real[:len(real)-2]+"AA", "frlOeCTBg8R1XwT6I4aQqQ==", "", "")
	f.Add("", "x", "a", "b")
	f.Add("!!", "x", "é", "\x00")
	f.Add(strings.Repeat("A", 40), "", "", "")
	f.Fuzz(func(t *testing.T, cookie, stateNonce, txnNonce, verifier string) {
		if _, err := s.open("vcfsso", "development", stateNonce, cookie); err != nil && autherr.NameOf(err) != autherr.NameNotAllowed {
			t.Fatalf("open(%q): %v is not a NotAllowedError", cookie, err)
		}
		if !utf8.ValidString(txnNonce) || !utf8.ValidString(verifier) || !utf8.ValidString(stateNonce) {
			return // JSON carries UTF-8 only; PKCE verifiers and nonces are ASCII
		}
		txn := providers.Transaction{Nonce: txnNonce, CodeVerifier: verifier}
		sealed, err := s.seal("vcfsso", "development", stateNonce, txn)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.open("vcfsso", "development", stateNonce, sealed)
		if err != nil || got != txn {
			t.Fatalf("round trip of %+v: %+v (%v)", txn, got, err)
		}
		if _, err := s.open("vcfsso", "development", stateNonce+"x", sealed); err == nil {
			t.Fatal("opened for another login")
		}
		if _, err := s.open("vcfsso", "production", stateNonce, sealed); err == nil {
			t.Fatal("opened in another env")
		}
		if _, err := s.open("vcfsso", "development", stateNonce, sealed+strconv.Itoa(len(cookie)%10)); err == nil {
			t.Fatal("opened with a trailing character")
		}
	})
}
