package identity_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }
func jwksOf(t *testing.T, p *identity.PluginKeys) jose.JSONWebKeySet {
	t.Helper()
	body, err := p.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	return set
}

// verifyPluginToken checks tok as Backstage's PluginTokenHandler does:
// typ, ES256, a kid in the plugin's JWKS, and the claims.
func verifyPluginToken(t *testing.T, p *identity.PluginKeys, tok string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders[jose.HeaderType] != identity.TypePlugin || h.Algorithm != "ES256" {
		t.Fatalf("header %+v", h)
	}
	set := jwksOf(t, p)
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in the plugin JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestPluginTokens(t *testing.T) {
	clock := newFakeClock()
	p := identity.NewPluginKeys(identity.PluginKeysOptions{Now: clock.Now})
	tok, err := p.ServiceToken(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	c := verifyPluginToken(t, p, tok)
	now := float64(clock.Now().Unix())
	if c["sub"] != "auth" || c["aud"] != "catalog" || c["iat"] != now || c["exp"] != now+600 || len(c) != 4 {
		t.Errorf("claims = %v", c)
	}
	// Reused while young, re-minted after half its lifetime.
	clock.Add(4 * time.Minute)
	if again, _ := p.ServiceToken(context.Background(), "catalog"); again != tok {
		t.Error("a young token was not reused")
	}
	clock.Add(2 * time.Minute)
	if again, _ := p.ServiceToken(context.Background(), "catalog"); again == tok {
		t.Error("a token past half its lifetime was reused")
	}
	other, _ := p.ServiceToken(context.Background(), "scaffolder")
	if verifyPluginToken(t, p, other)["aud"] != "scaffolder" {
		t.Error("aud is not the target plugin")
	}
	for _, bad := range []string{"", "a/b", `x"y`} {
		if _, err := p.ServiceToken(context.Background(), bad); !autherr.Is(err, autherr.NameInput) {
			t.Errorf("target %q: %v, want Input", bad, err)
		}
	}
}

func TestPluginKeyRotation(t *testing.T) {
	clock := newFakeClock()
	p := identity.NewPluginKeys(identity.PluginKeysOptions{Now: clock.Now, KeyLifetime: time.Hour, TokenLifetime: 10 * time.Minute})
	if n := len(jwksOf(t, p).Keys); n != 1 {
		t.Fatalf("a fresh JWKS has %d keys, want 1", n)
	}
	clock.Add(59 * time.Minute)
	lastOfOld, _ := p.ServiceToken(context.Background(), "catalog")
	clock.Add(2 * time.Minute)
	fresh, _ := p.ServiceToken(context.Background(), "catalog")
	if fresh == lastOfOld {
		t.Fatal("no new token after the key rotated")
	}
	if n := len(jwksOf(t, p).Keys); n != 2 {
		t.Fatalf("after rotation the JWKS has %d keys, want the new and the retired one", n)
	}
	// The retired key's last token still verifies until it expires.
	verifyPluginToken(t, p, lastOfOld)
	clock.Add(10 * time.Minute)
	set := jwksOf(t, p)
	if len(set.Keys) != 1 {
		t.Fatalf("once its tokens expired the retired key is still published: %d keys", len(set.Keys))
	}
}

// TestPluginJWKSDocument: the plugin JWKS document is hashed once per key
// set: the same tag while the set holds, a new one when a rotation adds a
// key and when the retired key is dropped; the body is JWKS's.
func TestPluginJWKSDocument(t *testing.T) {
	clk := newFakeClock()
	p := identity.NewPluginKeys(identity.PluginKeysOptions{Now: clk.Now})
	ctx := context.Background()
	first, err := p.JWKSDocument(ctx)
	body, _ := p.JWKS(ctx)
	if err != nil || string(first.Body) != string(body) || first.ETag != httpcache.StrongETag(body) || first.CacheControl != "public, max-age=0" {
		t.Fatalf("JWKSDocument = %+v, %v", first, err)
	}
	if again, _ := p.JWKSDocument(ctx); again.ETag != first.ETag {
		t.Errorf("same set, ETag %s then %s", first.ETag, again.ETag)
	}
	clk.Add(identity.DefaultPluginKeyLifetime) // rotation: two keys
	rotated, _ := p.JWKSDocument(ctx)
	if rotated.ETag == first.ETag || strings.Count(string(rotated.Body), `"kid"`) != 2 {
		t.Errorf("after rotation: ETag %s (was %s) body %s", rotated.ETag, first.ETag, rotated.Body)
	}
	clk.Add(identity.DefaultPluginTokenLifetime) // the retired key's tokens expired
	pruned, _ := p.JWKSDocument(ctx)
	if pruned.ETag == rotated.ETag || strings.Count(string(pruned.Body), `"kid"`) != 1 {
		t.Errorf("after the retired key expired: ETag %s body %s", pruned.ETag, pruned.Body)
	}
}
