package oauth

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzParseBasic: any Authorization header parses without a panic; what
// parses has both halves non-empty; and credentials form-encoded by a
// client (RFC 6749 §2.3.1) read back as they were.
func FuzzParseBasic(f *testing.F) {
	f.Add("Basic YTpi", "c1", "s:e%c+r t")
	f.Add("basic   Og==", "734bfbc3-cf2e-440c-8e3c-753f84661a8e", "e1e84f9c-2312-448f-b40b-c2215e8045d7")
	f.Add("Basic %%%", "é", "ü:")
	f.Fuzz(func(t *testing.T, header, id, secret string) {
		if gotID, gotSecret, ok := parseBasic(header); ok && (gotID == "" || gotSecret == "") {
			t.Fatalf("parseBasic(%q) accepted an empty half", header)
		}
		if id == "" || secret == "" {
			return
		}
		gotID, gotSecret, ok := parseBasic(basic(id, secret))
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("round trip of %q, %q = %q, %q, %v", id, secret, gotID, gotSecret, ok)
		}
		raw := base64.RawURLEncoding.EncodeToString([]byte(id + ":" + secret))
		parseBasic("Basic " + raw)
	})
}

// FuzzTokenRequest: any /v1/token body, form or JSON, with any Basic
// header, is answered without a panic, with a JSON OAuth error or an
// envelope error, never a 500 (nothing the caller sends is the server's
// fault), and with no-store on every OAuth-style answer.
func FuzzTokenRequest(f *testing.F) {
	f.Add("application/json", `{"grant_type":"authorization_code","code":"x","redirect_uri":"http://127.0.0.1:8055/callback","code_verifier":"v"}`, "")
	f.Add("application/json", `{"grant_type":"refresh_token","refresh_token":"a.b"}`, "Basic YTpi")
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=a.b&refresh_token=c&client_id=x", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=authorization_code&code=%ff&redirect_uri=cursor://x&resource=https://r#f", "")
	f.Add("application/json", `[1,2]`, "")
	f.Add("application/json", `{"grant_type":["a"],"client_id":7}`, "Basic Og==")
	s := bareServer(f)
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		rec, err := callDirect(s.token, contentType, body, authorization)
		if err != nil {
			return // an envelope error (malformed JSON, oversized body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", rec.Body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("answer without no-store")
		}
	})
}
