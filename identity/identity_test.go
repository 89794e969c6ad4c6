package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

func TestMemoryKeyStoreConformance(t *testing.T) {
	storetest.RunKeyStore(t, func(*testing.T) identity.KeyStore { return identity.NewMemoryKeyStore() })
}

func TestMemoryUserInfoStoreConformance(t *testing.T) {
	storetest.RunUserInfoStore(t, func(*testing.T) identity.UserInfoStore { return identity.NewMemoryUserInfoStore() })
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newIssuer(t testing.TB, omit bool) (*identity.Issuer, *clock, *identity.MemoryKeyStore) {
	t.Helper()
	clk := &clock{t: time.Now()}
	keys := identity.NewMemoryKeyStore()
	iss, err := identity.NewIssuer(identity.Options{
		Issuer: "http://localhost:7007/api/auth", Expiration: time.Hour, OmitOwnershipClaim: omit,
		Keys: keys, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss, clk, keys
}

func jwks(t *testing.T, iss *identity.Issuer) jose.JSONWebKeySet {
	t.Helper()
	body, err := iss.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	return set
}

// verify checks tok against the JWKS the way Backstage backends do and
// returns its header and raw payload.
func verify(t *testing.T, set jose.JSONWebKeySet, tok string) (jose.Header, []byte) {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := jws.Signatures[0].Protected
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return h, payload
}

func TestIssueTokenWireFormat(t *testing.T) {
	for _, omit := range []bool{true, false} {
		iss, clk, _ := newIssuer(t, omit)
		ctx := context.Background()
		tok, err := iss.IssueToken(ctx, identity.Claims{
			Sub: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"},
			Extra: map[string]any{"team": "a", "sub": "user:default/mallory"},
		})
		if err != nil {
			t.Fatal(err)
		}
		set := jwks(t, iss)
		if len(set.Keys) != 1 || set.Keys[0].Algorithm != "ES256" || set.Keys[0].KeyID == "" {
			t.Fatalf("JWKS = %+v", set)
		}
		h, payload := verify(t, set, tok.Token)
		if h.ExtraHeaders[jose.HeaderType] != identity.TypeUser || h.Algorithm != "ES256" {
			t.Errorf("header = %+v", h)
		}
		now := clk.Now().Unix()
		want := `{"team":"a","iss":"http://localhost:7007/api/auth","sub":"user:default/alice",`
		if !omit {
			want += `"ent":["user:default/alice","group:default/team-a"],`
		}
		want += `"aud":"backstage","iat":` + itoa(now) + `,"exp":` + itoa(now+3600) + `,"uip":"`
		if !strings.HasPrefix(string(payload), want) {
			t.Errorf("payload\n got %s\nwant %s…", payload, want)
		}
		if tok.Identity.UserEntityRef != "user:default/alice" || len(tok.Identity.OwnershipEntityRefs) != 2 || tok.Identity.Type != "user" {
			t.Errorf("identity = %+v", tok.Identity)
		}
		if got := tok.ExpiresAt.Unix() - now; got != 3600 {
			t.Errorf("ExpiresAt - now = %d, want 3600", got)
		}

		// The limited-user token rebuilt from uip verifies with the same key.
		limited, err := identity.LimitedUserToken(tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		lh, lp := verify(t, set, limited)
		if lh.ExtraHeaders[jose.HeaderType] != identity.TypeLimitedUser {
			t.Errorf("limited header = %+v", lh)
		}
		if want := `{"sub":"user:default/alice","iat":` + itoa(now) + `,"exp":` + itoa(now+3600) + `}`; string(lp) != want {
			t.Errorf("limited payload = %s, want %s", lp, want)
		}
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(limited, ".")[0])
		if want := `{"typ":"vnd.backstage.limited-user","alg":"ES256","kid":"` + h.KeyID + `"}`; string(hdr) != want {
			t.Errorf("limited header bytes = %s, want %s", hdr, want)
		}
		if v, err := iss.VerifyUserToken(ctx, limited); err != nil || v.Type != identity.TypeLimitedUser || v.Sub != "user:default/alice" {
			t.Errorf("VerifyUserToken(limited) = %+v, %v", v, err)
		}

		info, err := iss.UserInfo(ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(info)
		if string(b) != `{"ent":["user:default/alice","group:default/team-a"],"sub":"user:default/alice","team":"a"}` {
			t.Errorf("userinfo = %s", b)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestIssueTokenRejectsBadSub(t *testing.T) {
	iss, _, _ := newIssuer(t, true)
	for _, sub := range []string{"", "alice", "user:", ":alice", "user:default/", "user:a/b/c"} {
		_, err := iss.IssueToken(context.Background(), identity.Claims{Sub: sub})
		if err == nil || err.Error() != `"sub" claim provided by the auth resolver is not a valid EntityRef.` {
			t.Errorf("sub %q: err = %v", sub, err)
		}
	}
}

func TestRotationAndJWKSWindow(t *testing.T) {
	iss, clk, keys := newIssuer(t, true)
	ctx := context.Background()
	first, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour + time.Second)
	second, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	set := jwks(t, iss)
	if len(set.Keys) != 2 {
		t.Fatalf("after one rotation JWKS has %d keys, want 2", len(set.Keys))
	}
	h1, _ := verify(t, set, first.Token)
	h2, _ := verify(t, set, second.Token)
	if h1.KeyID == h2.KeyID {
		t.Fatal("the key did not rotate after one token lifetime")
	}
	// Three lifetimes after the first key was made it is dropped from the
	// JWKS and deleted from the store.
	clk.Add(2*time.Hour + time.Second)
	set = jwks(t, iss)
	if len(set.Keys) != 1 || set.Keys[0].KeyID != h2.KeyID {
		t.Fatalf("JWKS after 3 lifetimes = %v, want only %s", set.Keys, h2.KeyID)
	}
	stored, _ := keys.ListKeys(ctx)
	if len(stored) != 1 {
		t.Errorf("store still has %d keys, want 1", len(stored))
	}
}

func TestVerifyUserTokenRejects(t *testing.T) {
	iss, clk, _ := newIssuer(t, true)
	ctx := context.Background()
	tok, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Token, ".")
	other, _, _ := newIssuer(t, true)
	foreign, _ := other.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	for name, token := range map[string]string{
		"garbage":          "not-a-token",
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user:default/admin","iat":1,"exp":99999999999}`)) + "." + parts[2],
		"unknown key":      foreign.Token,
	} {
		if _, err := iss.VerifyUserToken(ctx, token); !autherr.Is(err, autherr.NameAuthentication) {
			t.Errorf("%s: err = %v, want AuthenticationError", name, err)
		}
	}
	clk.Add(time.Hour)
	if _, err := iss.VerifyUserToken(ctx, tok.Token); !autherr.Is(err, autherr.NameAuthentication) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: err = %v", err)
	}
	if _, err := iss.UserInfo(ctx, foreign.Token); !autherr.Is(err, autherr.NameAuthentication) {
		t.Errorf("UserInfo with a foreign token: %v", err)
	}
}

// failingKeys fails every call after fail is set.
type failingKeys struct {
	identity.KeyStore
	mu   sync.Mutex
	fail bool
}

func (f *failingKeys) set(v bool) { f.mu.Lock(); f.fail = v; f.mu.Unlock() }
func (f *failingKeys) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("database is down")
	}
	return nil
}
func (f *failingKeys) AddKey(ctx context.Context, k identity.PublicKey) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.KeyStore.AddKey(ctx, k)
}
func (f *failingKeys) ListKeys(ctx context.Context) ([]identity.PublicKey, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.KeyStore.ListKeys(ctx)
}

func TestKeyStoreOutage(t *testing.T) {
	clk := &clock{t: time.Now()}
	keys := &failingKeys{KeyStore: identity.NewMemoryKeyStore()}
	iss, _ := identity.NewIssuer(identity.Options{Issuer: "http://x/api/auth", Keys: keys, Now: clk.Now})
	ctx := context.Background()
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); err != nil {
		t.Fatal(err)
	}
	before, _ := iss.JWKS(ctx)
	keys.set(true)
	clk.Add(2 * time.Second)
	after, err := iss.JWKS(ctx)
	if err != nil || string(after) != string(before) {
		t.Errorf("JWKS while the store is down = %s, %v; want the last good set", after, err)
	}
	// Rotation fails, but the previous key may sign for one more lifetime.
	clk.Add(time.Hour)
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); err != nil {
		t.Errorf("issue during outage within grace: %v", err)
	}
	clk.Add(time.Hour)
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); !autherr.Is(err, autherr.NameServiceUnavailable) {
		t.Errorf("issue during a long outage: %v, want ServiceUnavailableError", err)
	}
	keys.set(false)
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestClampExpiration(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: time.Hour, time.Minute: 10 * time.Minute, 2 * time.Hour: 2 * time.Hour, 48 * time.Hour: 24 * time.Hour,
	} {
		if got := identity.ClampExpiration(in); got != want {
			t.Errorf("ClampExpiration(%v) = %v, want %v", in, got, want)
		}
	}
}

func BenchmarkIssueToken(b *testing.B) {
	iss, _, _ := newIssuer(b, true)
	ctx := context.Background()
	c := identity.Claims{Sub: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.IssueToken(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKS(b *testing.B) {
	iss, _, _ := newIssuer(b, true)
	ctx := context.Background()
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.JWKS(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserInfo(b *testing.B) {
	iss, _, _ := newIssuer(b, true)
	ctx := context.Background()
	tok, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.UserInfo(ctx, tok.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIssueTokenRefuses: a token longer than Backstage accepts, or extra
// claims JSON cannot encode, issue nothing and record nothing.
func TestIssueTokenRefuses(t *testing.T) {
	ctx := context.Background()
	info := identity.NewMemoryUserInfoStore()
	iss, err := identity.NewIssuer(identity.Options{Issuer: "http://localhost:7007/api/auth", UserInfo: info})
	if err != nil {
		t.Fatal(err)
	}
	if iss.Expiration() != identity.DefaultExpiration {
		t.Errorf("Expiration = %v, want the default", iss.Expiration())
	}
	sub := "user:default/big"
	_, err = iss.IssueToken(ctx, identity.Claims{Sub: sub, Extra: map[string]any{"blob": strings.Repeat("x", 40000)}})
	if err == nil || !strings.Contains(err.Error(), "excessively large") || !strings.Contains(err.Error(), "'sub, ent, blob'") {
		t.Errorf("oversized token: %v", err)
	}
	_, err = iss.IssueToken(ctx, identity.Claims{Sub: sub, Extra: map[string]any{"ch": make(chan int)}})
	if !autherr.Is(err, autherr.NameInput) || !strings.Contains(err.Error(), `extra claim "ch"`) {
		t.Errorf("unencodable claim: %v", err)
	}
	if got, err := info.GetUserInfo(ctx, sub); !autherr.IsNotFound(err) {
		t.Errorf("user info after refusals = %v, %v; want none", got, err)
	}
}

func TestMemorySessionEndStoreConformance(t *testing.T) {
	storetest.RunSessionEndStore(t, func(*testing.T) identity.SessionEndStore { return identity.NewMemorySessionEndStore() })
}

func TestMemoryOAuthStoreConformance(t *testing.T) {
	storetest.RunOAuthStore(t, func(*testing.T) identity.OAuthStore { return identity.NewMemoryOAuthStore() })
}

// TestJWKSDocument: the JWKS answer's ETag is the body's strong tag, the
// same while the key set is, and new when a rotation publishes a key; its
// max-age is the JWKS cache TTL.
func TestJWKSDocument(t *testing.T) {
	clk := &clock{t: time.Now()}
	iss, _ := identity.NewIssuer(identity.Options{Issuer: "http://x/api/auth", Now: clk.Now, JWKSCacheTTL: 5 * time.Second})
	ctx := context.Background()
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); err != nil {
		t.Fatal(err)
	}
	first, err := iss.JWKSDocument(ctx)
	body, _ := iss.JWKS(ctx)
	if err != nil || string(first.Body) != string(body) || first.ETag != httpcache.StrongETag(body) || first.CacheControl != "public, max-age=5" {
		t.Fatalf("JWKSDocument = %+v, %v; want the JWKS body, its strong tag, max-age=5", first, err)
	}
	clk.Add(10 * time.Second) // re-read from the store: same keys, same tag
	if again, _ := iss.JWKSDocument(ctx); again.ETag != first.ETag {
		t.Errorf("ETag after a re-read of the same keys = %s, want %s", again.ETag, first.ETag)
	}
	clk.Add(time.Hour) // the next token rotates the key
	if _, err := iss.IssueToken(ctx, identity.Claims{Sub: "user:default/a"}); err != nil {
		t.Fatal(err)
	}
	if rotated, _ := iss.JWKSDocument(ctx); rotated.ETag == first.ETag || !strings.Contains(string(rotated.Body), string(first.Body[len(`{"keys":[`):len(first.Body)-2])) {
		t.Errorf("after rotation: ETag %s (was %s), body %s", rotated.ETag, first.ETag, rotated.Body)
	}
}
