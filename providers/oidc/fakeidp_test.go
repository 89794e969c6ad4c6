package oidc_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/devidp/devidptest"
	"github.com/gatehouse-auth/gatehouse/providers/oidc"
)

// fakeIdP is an httptest OpenID provider whose every answer a test sets:
// discovery document, JWKS (built with go-jose), token, userinfo and
// revocation endpoints. Unlike the dev IdP it issues whatever a row of a
// table needs, such as ID tokens from another issuer or with another alg.
type fakeIdP struct {
	srv *httptest.Server
	key devidptest.Key // published in the JWKS; signs by default

	mu sync.Mutex
	// metadata changes the discovery document before it is served.
	metadata func(m map[string]any)
	// discoveryStatus, when not 0 or 200, is the discovery endpoint's answer.
	discoveryStatus int
	// token answers the token endpoint; default tokenJSON(goodIDToken).
	token http.HandlerFunc
	// userinfo answers the userinfo endpoint; default {"sub":"alice",...}.
	userinfo http.HandlerFunc
	// revoke answers the revocation endpoint; default 200.
	revoke http.HandlerFunc
	// tokenForms and revokeRequests record what the provider sent.
	tokenForms     []*http.Request
	revokeRequests []*http.Request
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{key: devidptest.SharedKey(t, "k1")}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		status, tweak := f.discoveryStatus, f.metadata
		f.mu.Unlock()
		if status != 0 && status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		m := map[string]any{
			"issuer":                 f.issuer(),
			"authorization_endpoint": f.issuer() + "/authorize",
			"token_endpoint":         f.issuer() + "/token",
			"userinfo_endpoint":      f.issuer() + "/userinfo",
			"jwks_uri":               f.issuer() + "/keys",
			"revocation_endpoint":    f.issuer() + "/revoke",
		}
		if tweak != nil {
			tweak(m)
		}
		writeJSON(w, m)
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(devidptest.JWKS(f.key))
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		h := f.record(r, &f.tokenForms, &f.token)
		if h == nil {
			h = tokenJSON(f.idToken(t, nil))
		}
		h(w, r)
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		h := f.userinfo
		f.mu.Unlock()
		if h == nil {
			writeJSON(w, map[string]any{"sub": "alice", "email": "alice@example.com"})
			return
		}
		h(w, r)
	})
	mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		if h := f.record(r, &f.revokeRequests, &f.revoke); h != nil {
			h(w, r)
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// record parses r's form and appends r to *requests, and returns the
// handler *answer set, under the fake's lock.
func (f *fakeIdP) record(r *http.Request, requests *[]*http.Request, answer *http.HandlerFunc) http.HandlerFunc {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	*requests = append(*requests, r)
	return *answer
}

func (f *fakeIdP) issuer() string { return f.srv.URL }

// set runs change under the fake's lock, for the fields the handlers read.
func (f *fakeIdP) set(change func(f *fakeIdP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

const testNonce = "nonce-1"

// claims are a good ID token's claims for testClient, changed by mutate.
func (f *fakeIdP) claims(mutate func(c map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": f.issuer(), "sub": "alice", "aud": testClient, "nonce": testNonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// idToken is a good ID token changed by mutate, signed RS256 by f.key.
func (f *fakeIdP) idToken(t *testing.T, mutate func(c map[string]any)) string {
	return f.key.Sign(t, jose.RS256, f.claims(mutate))
}

// provider opens an oidc provider for f, with cfg's other fields set.
func (f *fakeIdP) provider(t *testing.T, change func(cfg *oidc.Config)) *oidc.Provider {
	t.Helper()
	cfg := oidc.Config{ProviderID: "oidc", MetadataURL: f.issuer(), ClientID: testClient, ClientSecret: testSecret, CallbackURL: testCallback,
		Logger: slog.New(slog.DiscardHandler)}
	if change != nil {
		change(&cfg)
	}
	p, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenJSON answers a token request with a bearer token, a refresh token
// and idToken ("" leaves id_token out).
func tokenJSON(idToken string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{"access_token": "at-1", "token_type": "Bearer", "refresh_token": "rt-1", "expires_in": 300, "scope": "openid profile email"}
		if idToken != "" {
			doc["id_token"] = idToken
		}
		writeJSON(w, doc)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
