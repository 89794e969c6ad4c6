package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// TypePlugin is the JWT typ of a Backstage plugin (service-to-service) token.
const TypePlugin = "vnd.backstage.plugin"

// Plugin token defaults. Backstage's own plugin tokens live one hour; these
// are shorter because Gatehouse mints one per target and re-mints early.
const (
	DefaultPluginTokenLifetime = 10 * time.Minute
	DefaultPluginKeyLifetime   = time.Hour
)

// PluginKeysOptions configures PluginKeys.
type PluginKeysOptions struct {
	// PluginID is the `sub` of minted tokens, the plugin Gatehouse speaks
	// as; default "auth", as Backstage's auth plugin.
	PluginID string
	// TokenLifetime is each token's exp - iat; default 10 minutes.
	TokenLifetime time.Duration
	// KeyLifetime is how long one key signs before a new one is made;
	// default 1 hour. A retired key stays in the JWKS for one more token
	// lifetime, so tokens it signed keep verifying until they expire.
	KeyLifetime time.Duration
	// Now is for tests; default time.Now.
	Now func() time.Time
}

// PluginKeys mints Backstage plugin tokens: ES256 JWTs with
// header typ "vnd.backstage.plugin" and claims sub (this plugin), aud (the
// target plugin), iat and exp, signed with a key held only in memory. A
// Backstage backend verifies them against
// `${discovery.getBaseUrl(sub)}/.backstage/auth/v1/jwks.json`, which
// Gatehouse serves from JWKS. Keys live in one process: with several
// Gatehouse replicas behind one URL, a receiver may fetch another
// replica's key set, so route that path to one replica or use a static
// token. PluginKeys is safe for concurrent use.
type PluginKeys struct {
	opts PluginKeysOptions

	mu      sync.Mutex
	cur     *signingKey
	retired []*signingKey // older keys still published
	tokens  map[string]cachedPluginToken
	// jwks is the published set's document, built on first read after the
	// set changes (no Body means "rebuild"), so its ETag is hashed once
	// per set rather than per request.
	jwks httpcache.Document
}

type cachedPluginToken struct {
	token string
	kid   string
	exp   time.Time
}

// NewPluginKeys returns PluginKeys with opts' defaults filled in. The first
// key is made on first use.
func NewPluginKeys(opts PluginKeysOptions) *PluginKeys {
	if opts.PluginID == "" {
		opts.PluginID = "auth"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultPluginTokenLifetime
	}
	if opts.KeyLifetime <= 0 {
		opts.KeyLifetime = DefaultPluginKeyLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &PluginKeys{opts: opts, tokens: map[string]cachedPluginToken{}}
}

// PluginID returns the sub of the tokens PluginKeys mints.
func (p *PluginKeys) PluginID() string { return p.opts.PluginID }

// key returns the current signing key, rotating it when it has signed for
// KeyLifetime, and drops retired keys whose tokens have all expired.
// p.mu must be held.
func (p *PluginKeys) key(now time.Time) (*signingKey, error) {
	defer p.prune(now)
	if p.cur != nil && now.Before(p.cur.created.Add(p.opts.KeyLifetime)) {
		return p.cur, nil
	}
	k, err := newSigningKey(now)
	if err != nil {
		return nil, err
	}
	if p.cur != nil {
		p.retired = append(p.retired, p.cur)
	}
	p.cur = k
	p.jwks = httpcache.Document{}
	return k, nil
}

// prune drops retired keys whose tokens have all expired. p.mu must be
// held.
func (p *PluginKeys) prune(now time.Time) {
	kept := p.retired[:0]
	for _, r := range p.retired {
		// r signed until created+KeyLifetime; its last token expires one
		// token lifetime later.
		if now.Before(r.created.Add(p.opts.KeyLifetime + p.opts.TokenLifetime)) {
			kept = append(kept, r)
		}
	}
	if len(kept) != len(p.retired) {
		p.jwks = httpcache.Document{}
	}
	p.retired = kept
}

// ServiceToken returns a plugin token for calls to targetPluginID (e.g.
// "catalog"). A token is reused until half its lifetime has passed, and
// never after its key is rotated out. It returns an Input error for an
// empty or malformed target.
func (p *PluginKeys) ServiceToken(ctx context.Context, targetPluginID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if targetPluginID == "" || strings.ContainsAny(targetPluginID, "\"\\/ ") {
		return "", autherr.Input("Invalid target plugin id %q for a plugin token", targetPluginID)
	}
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	k, err := p.key(now)
	if err != nil {
		return "", err
	}
	if c, ok := p.tokens[targetPluginID]; ok && c.kid == k.kid && now.Before(c.exp.Add(-p.opts.TokenLifetime/2)) {
		return c.token, nil
	}
	hdr := b64.EncodeToString([]byte(`{"typ":"` + TypePlugin + `","alg":"ES256","kid":"` + k.kid + `"}`))
	exp := now.Add(p.opts.TokenLifetime)
	claims, err := json.Marshal(map[string]any{
		"sub": p.opts.PluginID,
		"aud": targetPluginID,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("identity: plugin token claims: %w", err)
	}
	tok, err := k.compact(hdr, claims)
	if err != nil {
		return "", err
	}
	p.tokens[targetPluginID] = cachedPluginToken{token: tok, kid: k.kid, exp: exp}
	return tok, nil
}

// JWKS returns {"keys":[...]} with the public half of every key whose
// tokens may still be valid, newest first. Before the first token is
// minted it makes the first key, so the set is never empty.
func (p *PluginKeys) JWKS(ctx context.Context) ([]byte, error) {
	d, err := p.JWKSDocument(ctx)
	return d.Body, err
}

// pluginJWKSCacheControl lets HTTP caches keep the plugin JWKS but makes
// them revalidate (a 304 while the ETag holds) before each reuse: a new
// plugin key signs as soon as it is made, so a receiver that re-fetches
// on the unknown kid must get the new set at once.
var pluginJWKSCacheControl = httpcache.PublicMaxAge(0)

// JWKSDocument is the JWKS body of JWKS with its strong ETag and
// Cache-Control, built once per published key set.
func (p *PluginKeys) JWKSDocument(ctx context.Context) (httpcache.Document, error) {
	if err := ctx.Err(); err != nil {
		return httpcache.Document{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k, err := p.key(p.opts.Now())
	if err != nil {
		return httpcache.Document{}, err
	}
	if p.jwks.Body == nil {
		body, err := encodeJWKS(append([]*signingKey{k}, p.retired...))
		if err != nil {
			return httpcache.Document{}, err
		}
		p.jwks = httpcache.NewDocument(body, pluginJWKSCacheControl)
	}
	return p.jwks, nil
}

// encodeJWKS is {"keys":[...]} of keys: keys[0], the current key, then
// the retired ones, given oldest first, newest first.
func encodeJWKS(keys []*signingKey) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"keys":[`)
	// keys[0] is current and retired are oldest first: write the current
	// key, then the retired ones newest first.
	ordered := []*signingKey{keys[0]}
	for i := len(keys) - 1; i >= 1; i-- {
		ordered = append(ordered, keys[i])
	}
	for i, sk := range ordered {
		jwk, err := publicJWK(sk)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(jwk)
	}
	buf.WriteString(`]}`)
	return buf.Bytes(), nil
}
