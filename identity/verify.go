package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// keyWindow is how many token lifetimes a key stays published: a token
// signed at the end of its key's life must verify until it expires.
const keyWindow = 3

// verifiedCacheSize bounds the verified-token cache; it is cleared when full.
const verifiedCacheSize = 10000

// acceptedAlgs are the algorithms a published key may use.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA}

// JWKS returns the JSON Web Key Set of every published key younger than
// three token lifetimes. The body is cached for JWKSCacheTTL; when the key
// store cannot be read, the last body read is served and the failure logged.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	d, err := i.JWKSDocument(ctx)
	return d.Body, err
}

// JWKSDocument is the JWKS body of JWKS with its strong ETag, computed
// once per key set snapshot, and its Cache-Control (see Issuer.jwksCacheControl), for the
// HTTP route to answer conditional requests without hashing per request.
func (i *Issuer) JWKSDocument(ctx context.Context) (httpcache.Document, error) {
	ks, err := i.keySet(ctx, false)
	if err != nil {
		return httpcache.Document{}, err
	}
	return ks.doc, nil
}

func (i *Issuer) keySet(ctx context.Context, force bool) (*keySet, error) {
	now := i.opts.Now()
	if ks := i.keys.Load(); ks != nil && !force && now.Sub(ks.fetched) < i.opts.JWKSCacheTTL {
		return ks, nil
	}
	i.keysMu.Lock()
	defer i.keysMu.Unlock()
	prev := i.keys.Load()
	if prev != nil && !force && now.Sub(prev.fetched) < i.opts.JWKSCacheTTL {
		return prev, nil
	}
	stored, err := i.source.ListKeys(ctx)
	if err != nil {
		if prev != nil {
			i.log.Warn("cannot read signing keys; serving the last key set read", "error", err)
			stale := *prev
			stale.fetched = now
			i.keys.Store(&stale)
			return &stale, nil
		}
		return nil, autherr.Wrap(autherr.NameServiceUnavailable, "Signing keys are not available", err)
	}
	ks := &keySet{keys: make(map[string]*jose.JSONWebKey, len(stored)), fetched: now}
	var expired []string
	var body bytes.Buffer
	body.WriteString(`{"keys":[`)
	n := 0
	for _, k := range stored {
		if !now.Before(k.CreatedAt.Add(keyWindow * i.exp)) {
			expired = append(expired, k.KID)
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.JWK); err != nil || !jwk.IsPublic() {
			i.log.Warn("ignoring a stored signing key that is not a public JWK", "kid", k.KID)
			continue
		}
		ks.keys[k.KID] = &jwk
		if n > 0 {
			body.WriteByte(',')
		}
		body.Write(k.JWK)
		n++
	}
	body.WriteString(`]}`)
	ks.doc = httpcache.NewDocument(body.Bytes(), i.jwksCacheControl)
	// Only rotated keys expire: static ones are dated now on every read,
	// so opts.Keys is set whenever expired is not empty.
	if len(expired) > 0 && i.opts.Keys != nil {
		if err := i.opts.Keys.RemoveKeys(ctx, expired); err != nil {
			i.log.Warn("cannot delete expired signing keys", "error", err)
		}
	}
	i.keys.Store(ks)
	return ks, nil
}

// VerifiedToken is what a verified user token says.
type VerifiedToken struct {
	// Type is TypeUser or TypeLimitedUser.
	Type string
	Sub  string
	// Ent is the ownership claim when the token carries it.
	Ent       []string
	ExpiresAt time.Time
}

// VerifyUserToken checks a full or limited Backstage user token the way
// Backstage backends do: typ, a published key, signature, and the
// iat, exp and sub claims. It returns an autherr Authentication on failure.
func (i *Issuer) VerifyUserToken(ctx context.Context, token string) (*VerifiedToken, error) {
	now := i.opts.Now()
	if v, ok := i.verified.get(token); ok && now.Before(v.ExpiresAt) {
		return v, nil
	}
	jws, err := jose.ParseSigned(token, acceptedAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, autherr.Authentication("Failed to verify user token: malformed token")
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if typ != TypeUser && typ != TypeLimitedUser {
		return nil, autherr.Authentication("Failed to verify user token: unexpected token type")
	}
	ks, err := i.keySet(ctx, false)
	if err != nil {
		return nil, err
	}
	key := ks.keys[h.KeyID]
	if key == nil && i.mayForceReload(now) {
		if ks, err = i.keySet(ctx, true); err != nil {
			return nil, err
		}
		key = ks.keys[h.KeyID]
	}
	if key == nil {
		return nil, autherr.Authentication("Failed to verify user token: unknown signing key")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, autherr.Authentication("Failed to verify user token: invalid signature")
	}
	var c struct {
		Sub *string  `json:"sub"`
		Iat *int64   `json:"iat"`
		Exp *int64   `json:"exp"`
		Ent []string `json:"ent"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Sub == nil || c.Iat == nil || c.Exp == nil || *c.Sub == "" {
		return nil, autherr.Authentication("Failed to verify user token: the iat, exp and sub claims are required")
	}
	exp := time.Unix(*c.Exp, 0)
	if !now.Before(exp) {
		return nil, autherr.Authentication("Failed to verify user token: token has expired")
	}
	v := &VerifiedToken{Type: typ, Sub: *c.Sub, Ent: c.Ent, ExpiresAt: exp}
	i.verified.put(token, v)
	return v, nil
}

// mayForceReload limits key reloads for unknown kids to one per second, so
// tokens with made-up kids cannot hammer the key store.
func (i *Issuer) mayForceReload(now time.Time) bool {
	last := i.lastForced.Load()
	if now.UnixNano()-last < int64(time.Second) {
		return false
	}
	return i.lastForced.CompareAndSwap(last, now.UnixNano())
}

// UserInfo answers /v1/userinfo: the claims recorded when the token's user
// last signed in. A token that does not verify is an Authentication error;
// a user with no record is a NotFound "User info not found".
func (i *Issuer) UserInfo(ctx context.Context, token string) (map[string]any, error) {
	v, err := i.VerifyUserToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return i.opts.UserInfo.GetUserInfo(ctx, v.Sub)
}

// LimitedUserToken rebuilds the limited-user token a full user token proves
// (its `uip` claim), as Backstage's UserTokenHandler does for cookie auth.
// The full token's signature is not checked: the limited token carries its
// own (uip), which verifies only if the full token was genuine. It returns
// an autherr Input error for anything but a compact JWS of an accepted
// algorithm whose payload has sub, iat, exp and a base64url uip.
func LimitedUserToken(fullToken string) (string, error) {
	jws, err := jose.ParseSignedCompact(fullToken, acceptedAlgs)
	if err != nil {
		return "", autherr.Input("not a JWT: %s", strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
	}
	h := jws.Signatures[0].Header
	var p struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		Uip string `json:"uip"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &p) != nil || p.Uip == "" {
		return "", autherr.Input("not a Backstage user token with a uip claim")
	}
	// uip becomes the limited token's signature part: anything but
	// base64url (a '.' above all) would make a token of another shape.
	if _, err := b64.DecodeString(p.Uip); err != nil {
		return "", autherr.Input("not a Backstage user token: its uip claim is not a base64url signature")
	}
	var hdr, pl jsonBuf
	hdr.WriteString(`{"typ":"` + TypeLimitedUser + `","alg":`)
	hdr.string(h.Algorithm)
	hdr.WriteString(`,"kid":`)
	hdr.string(h.KeyID)
	hdr.WriteByte('}')
	pl.limitedPayload(p.Sub, p.Iat, p.Exp)
	return b64.EncodeToString(hdr.Bytes()) + "." + b64.EncodeToString(pl.Bytes()) + "." + p.Uip, nil
}

type verifiedEntry = *VerifiedToken

// verifiedCache remembers tokens that verified until they expire, because
// backends ask /v1/userinfo with the same token many times.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]verifiedEntry
}

func (c *verifiedCache) get(token string) (*VerifiedToken, bool) {
	c.mu.RLock()
	v, ok := c.m[token]
	c.mu.RUnlock()
	return v, ok
}

func (c *verifiedCache) put(token string, v *VerifiedToken) {
	c.mu.Lock()
	if len(c.m) >= verifiedCacheSize {
		clear(c.m)
	}
	c.m[token] = v
	c.mu.Unlock()
}
