package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/identity"
)

func TestPluginJWKSRoute(t *testing.T) {
	tokens, err := identity.NewIssuer(identity.Options{
		Issuer:   "http://127.0.0.1:7007/api/auth",
		Keys:     identity.NewMemoryKeyStore(),
		UserInfo: identity.NewMemoryUserInfoStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		keys  JWKSSource
		count int
	}{{"without plugin keys", nil, 0}, {"with plugin keys", identity.NewPluginKeys(identity.PluginKeysOptions{}), 1}} {
		s, err := New(Options{AppBaseURL: "http://127.0.0.1:3000", AuthBaseURL: "http://127.0.0.1:7007/api/auth", Tokens: tokens, PluginKeys: tc.keys})
		if err != nil {
			t.Fatal(err)
		}
		w := serveReq(s.Handler(), httptest.NewRequest("GET", "/api/auth/.backstage/auth/v1/jwks.json", nil))
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &set) != nil || len(set.Keys) != tc.count {
			t.Errorf("%s: %d %s, want 200 with %d keys", tc.name, w.Code, w.Body, tc.count)
		}
		for _, k := range set.Keys {
			if k["alg"] != "ES256" || k["kid"] == "" || k["d"] != nil {
				t.Errorf("%s: key %v", tc.name, k)
			}
		}
	}
}

// TestPluginJWKSConditional: the plugin JWKS (minted or empty) carries a
// strong ETag and max-age=0, and a request naming the tag gets 304.
func TestPluginJWKSConditional(t *testing.T) {
	tokens, err := identity.NewIssuer(identity.Options{Issuer: "http://127.0.0.1:7007/api/auth"})
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]JWKSSource{"without plugin keys": nil, "with plugin keys": identity.NewPluginKeys(identity.PluginKeysOptions{})} {
		s, err := New(Options{AppBaseURL: "http://127.0.0.1:3000", AuthBaseURL: "http://127.0.0.1:7007/api/auth", Tokens: tokens, PluginKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		w := serveReq(s.Handler(), httptest.NewRequest("GET", "/api/auth/.backstage/auth/v1/jwks.json", nil))
		etag := w.Header().Get("ETag")
		if w.Code != 200 || etag == "" || w.Header().Get("Cache-Control") != "public, max-age=0" {
			t.Errorf("%s: %d ETag %q Cache-Control %q", name, w.Code, etag, w.Header().Get("Cache-Control"))
		}
		r := httptest.NewRequest("GET", "/api/auth/.backstage/auth/v1/jwks.json", nil)
		r.Header.Set("If-None-Match", etag)
		if w := serveReq(s.Handler(), r); w.Code != 304 || w.Body.Len() != 0 {
			t.Errorf("%s, If-None-Match: %d %q, want 304", name, w.Code, w.Body)
		}
	}
}
