// Package identity issues Backstage user tokens: ES256 JWTs whose
// header, claims and `uip` proof are byte-for-byte what Backstage's auth
// backend signs, so that any Backstage backend verifies them through the
// JWKS served here. It also answers /v1/userinfo.
package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// Token types and audience of Backstage user tokens (auth-node tokenTypes).
const (
	TypeUser        = "vnd.backstage.user"
	TypeLimitedUser = "vnd.backstage.limited-user"
	Audience        = "backstage"
)

// Token lifetime bounds of auth.backstageTokenExpiration, as Backstage
// clamps it (ClampExpiration).
const (
	DefaultExpiration = time.Hour
	MinExpiration     = 10 * time.Minute
	MaxExpiration     = 24 * time.Hour
)

// maxTokenLength is Backstage's limit on an issued token.
const maxTokenLength = 32768

// reservedClaims are set by the issuer; resolvers cannot override them.
var reservedClaims = []string{"iss", "sub", "ent", "aud", "iat", "exp", "uip"}

// IsReservedClaim reports whether name is a claim the issuer sets itself
// (iss, sub, ent, aud, iat, exp, uip): an extra claim of that name is never
// written into a token, and resolvers refuse it.
func IsReservedClaim(name string) bool { return slices.Contains(reservedClaims, name) }

// Claims is what a sign-in resolver asks to put in a token.
type Claims struct {
	// Sub is the user entity ref, e.g. "user:default/alice".
	Sub string
	// Ent are the ownership entity refs; empty means [Sub].
	Ent []string
	// Extra are additional claims; reserved names are ignored.
	Extra map[string]any
}

// Identity is backstageIdentity.identity of the auth response.
type Identity struct {
	Type                string   `json:"type"`
	UserEntityRef       string   `json:"userEntityRef"`
	OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
}

// IssuedToken is a signed Backstage user token and what it says.
type IssuedToken struct {
	Token     string
	Identity  Identity
	ExpiresAt time.Time
}

// Options configure an Issuer.
type Options struct {
	// Issuer is the `iss` claim: the external auth base URL, e.g.
	// "https://backstage.example.com/api/auth". Required.
	Issuer string
	// Expiration is the token lifetime and the key rotation period; 0 means
	// one hour. It is clamped to [10m, 24h] as Backstage does.
	Expiration time.Duration
	// OmitOwnershipClaim leaves `ent` out of tokens (Backstage's default).
	OmitOwnershipClaim bool
	// Keys holds the public keys of rotated signing keys; nil means a
	// MemoryKeyStore. It must be nil when StaticKeys are set.
	Keys KeyStore
	// StaticKeys, when set, replace rotation (auth.keyStore.provider:
	// static): the first key signs every token and all are published with
	// use "sig". They are the only published keys, so setting Keys as well
	// is an error rather than a store that would be ignored.
	StaticKeys []StaticKey
	// UserInfo holds /v1/userinfo claims; nil means a MemoryUserInfoStore.
	UserInfo UserInfoStore
	// JWKSCacheTTL is how long a key list read from Keys is served before
	// it is read again; 0 means one second. Local rotations show at once.
	JWKSCacheTTL time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// OnRotate, when set, is called after each new signing key is
	// published (the first one too), e.g. to count rotations.
	OnRotate func(kid string)
}

// Issuer signs Backstage user tokens, rotates its signing key, serves the
// JWKS and answers user info. It is safe for concurrent use.
type Issuer struct {
	opts Options
	exp  time.Duration
	log  *slog.Logger
	// source is what the JWKS lists: opts.Keys, or the static keys.
	source KeySource

	rotateMu sync.Mutex
	cur      atomic.Pointer[signingKey]

	keysMu     sync.Mutex
	keys       atomic.Pointer[keySet]
	lastForced atomic.Int64

	verified verifiedCache

	// jwksCacheControl is the JWKS answer's Cache-Control. Its max-age, how
	// long an HTTP cache may reuse the answer without asking again, is the
	// JWKS cache TTL (default 1 s), no longer: Gatehouse has no lead time
	// between publishing a key and signing with it (signingKey adds the new
	// key to the store, then signs with it at once: lazy rotation, as
	// Backstage). A verifier that meets the new kid re-fetches the JWKS
	// (jose's remote key set, which Backstage uses, does), and a shared
	// cache between it and Gatehouse must not answer that re-fetch with the
	// old set for long. Replicas already serve a set up to JWKSCacheTTL old,
	// so a max-age of that length at most doubles a staleness Gatehouse
	// already accepts; a longer one (say the rotation period) would make
	// such a cache reject fresh tokens. Verifiers that keep a copy still
	// save the body: they revalidate with If-None-Match and get 304 until
	// the set changes.
	jwksCacheControl string
}

// signingKey is this process's private key and the encoded headers it signs.
type signingKey struct {
	kid string
	// signer holds the private key; alg is its JWS algorithm (ES256 for
	// rotated keys; ES256 or RS256 for static ones).
	signer  crypto.Signer
	alg     string
	created time.Time
	// static keys sign for ever: they are never rotated.
	static     bool
	header     string // base64url of the user token header
	limitedHdr string // base64url of the limited-user token header
}

// keySet is a snapshot of the published keys.
type keySet struct {
	// doc is the JWKS body with its ETag, hashed once per snapshot.
	doc     httpcache.Document
	keys    map[string]*jose.JSONWebKey
	fetched time.Time
}

// NewIssuer checks opts and returns an Issuer. No key is made until the
// first token, as in Backstage.
func NewIssuer(opts Options) (*Issuer, error) {
	if opts.Issuer == "" {
		return nil, fmt.Errorf("identity: the token issuer (backend.baseUrl + /api/auth) is required")
	}
	if len(opts.StaticKeys) > 0 && opts.Keys != nil {
		return nil, fmt.Errorf("identity: static signing keys are the only published keys; a key store (Keys) cannot be used with them")
	}
	if opts.Keys == nil && len(opts.StaticKeys) == 0 {
		opts.Keys = NewMemoryKeyStore()
	}
	if opts.UserInfo == nil {
		opts.UserInfo = NewMemoryUserInfoStore()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.JWKSCacheTTL <= 0 {
		opts.JWKSCacheTTL = time.Second
	}
	i := &Issuer{opts: opts, exp: ClampExpiration(opts.Expiration), log: opts.Logger, source: opts.Keys, verified: verifiedCache{m: map[string]verifiedEntry{}}}
	i.jwksCacheControl = httpcache.PublicMaxAge(opts.JWKSCacheTTL)
	if len(opts.StaticKeys) > 0 {
		if err := i.useStaticKeys(opts.StaticKeys); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// ClampExpiration applies Backstage's default and bounds to a token lifetime.
func ClampExpiration(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return DefaultExpiration
	case d < MinExpiration:
		return MinExpiration
	case d > MaxExpiration:
		return MaxExpiration
	}
	return d
}

// Expiration is the token lifetime after clamping.
func (i *Issuer) Expiration() time.Duration { return i.exp }

var b64 = base64.RawURLEncoding

// IssueToken signs a user token for c and records c for /v1/userinfo. The
// token's payload keys are in Backstage's order: extra claims, iss, sub,
// ent (unless omitted), aud, iat, exp, uip.
//
// Its two ES256 signatures, the token's and the `uip` proof's, are the
// largest share of a /refresh's CPU (~15%; ~27 µs each on a 2-core
// machine, BenchmarkUserTokenSignatures) and both stay: Backstage's token
// format needs both, and crypto/ecdsa signs once per call with nothing to
// prepare beyond the key (its precomputation is cached by the key).
func (i *Issuer) IssueToken(ctx context.Context, c Claims) (*IssuedToken, error) {
	if !validEntityRef(c.Sub) {
		return nil, autherr.Plain(`"sub" claim provided by the auth resolver is not a valid EntityRef.`)
	}
	ent := c.Ent
	if len(ent) == 0 {
		ent = []string{c.Sub}
	}
	key, err := i.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	iat := i.opts.Now().Unix()
	exp := iat + int64(i.exp/time.Second)
	uip, err := limitedUserProof(key, c.Sub, iat, exp)
	if err != nil {
		return nil, err
	}
	extraKeys := extraClaimNames(c.Extra)
	payload, err := i.userPayload(c, extraKeys, ent, iat, exp, uip)
	if err != nil {
		return nil, err
	}
	token, err := signUserToken(key, payload, extraKeys)
	if err != nil {
		return nil, err
	}
	if err := i.recordUserInfo(ctx, c, extraKeys, ent); err != nil {
		return nil, err
	}
	return &IssuedToken{
		Token:     token,
		Identity:  Identity{Type: "user", UserEntityRef: c.Sub, OwnershipEntityRefs: ent},
		ExpiresAt: time.Unix(exp, 0),
	}, nil
}

// limitedUserProof is the `uip` claim: the signature of the limited-user
// token that any holder can rebuild from the header and
// {"sub","iat","exp"} (LimitedUserToken). The bytes signed must be exactly
// what Backstage's verifier reconstructs.
func limitedUserProof(key *signingKey, sub string, iat, exp int64) (string, error) {
	var lp jsonBuf
	lp.limitedPayload(sub, iat, exp)
	sig, err := key.appendSignature(make([]byte, 0, es256SignatureChars), signingInput(key.limitedHdr, lp.Bytes(), 0))
	return string(sig), err
}

// extraClaimNames are the names of extra's claims that are not reserved,
// sorted: the order they take in the token.
func extraClaimNames(extra map[string]any) []string {
	names := make([]string, 0, len(extra))
	for k := range extra {
		if !IsReservedClaim(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// userPayload is the user token's JSON payload, keys in Backstage's order.
func (i *Issuer) userPayload(c Claims, extraKeys, ent []string, iat, exp int64, uip string) ([]byte, error) {
	var p jsonBuf
	p.WriteByte('{')
	for _, k := range extraKeys {
		p.string(k)
		p.WriteByte(':')
		if err := p.value(c.Extra[k]); err != nil {
			return nil, autherr.Input("extra claim %q cannot be encoded as JSON", k)
		}
		p.WriteByte(',')
	}
	p.WriteString(`"iss":`)
	p.string(i.opts.Issuer)
	p.WriteString(`,"sub":`)
	p.string(c.Sub)
	if !i.opts.OmitOwnershipClaim {
		p.WriteString(`,"ent":`)
		p.value(ent)
	}
	if err := p.tail(Audience, iat, exp, uip); err != nil {
		return nil, err
	}
	return p.Bytes(), nil
}

// tail ends a user token payload: aud, iat, exp and uip, then '}'.
func (b *jsonBuf) tail(aud any, iat, exp int64, uip string) error {
	b.WriteString(`,"aud":`)
	if err := b.value(aud); err != nil {
		return err
	}
	b.WriteString(`,"iat":`)
	b.int(iat)
	b.WriteString(`,"exp":`)
	b.int(exp)
	b.WriteString(`,"uip":`)
	b.string(uip)
	b.WriteByte('}')
	return nil
}

// limitedPayload is a limited-user token's payload, the bytes its
// signature (a user token's uip) covers: {"sub","iat","exp"}.
func (b *jsonBuf) limitedPayload(sub string, iat, exp int64) {
	b.WriteString(`{"sub":`)
	b.string(sub)
	b.WriteString(`,"iat":`)
	b.int(iat)
	b.WriteString(`,"exp":`)
	b.int(exp)
	b.WriteByte('}')
}

// signUserToken signs payload into a compact JWS and refuses one longer
// than Backstage accepts, naming the claims that made it so.
func signUserToken(key *signingKey, payload []byte, extraKeys []string) (string, error) {
	token, err := key.compact(key.header, payload)
	if err != nil {
		return "", err
	}
	if len(token) > maxTokenLength {
		return "", autherr.Plain("Failed to issue a new user token. The resulting token is excessively large, with either too many ownership claims or too large custom claims. You likely have a bug either in the sign-in resolver or catalog data. The following claims were requested: '%s'", strings.Join(append([]string{"sub", "ent"}, extraKeys...), ", "))
	}
	return token, nil
}

// recordUserInfo stores what /v1/userinfo answers for c.Sub: the extra
// claims, sub and ent, whether or not the token carries ent. The store
// skips the write when the claims are unchanged. The Issuer keeps no hash
// of its own to skip the call: what it last wrote says nothing about what
// the row holds after another replica (or Issuer) wrote other claims for
// the same user, and /v1/userinfo must answer the last token's claims; the
// store compares against the row (sqlstore.DB.PutUserInfo).
func (i *Issuer) recordUserInfo(ctx context.Context, c Claims, extraKeys, ent []string) error {
	info := make(map[string]any, len(extraKeys)+2)
	for _, k := range extraKeys {
		info[k] = c.Extra[k]
	}
	info["sub"] = c.Sub
	info["ent"] = ent
	if _, err := i.opts.UserInfo.PutUserInfo(ctx, c.Sub, info); err != nil {
		return autherr.Wrap(autherr.NameServiceUnavailable, "Failed to store user info", err)
	}
	return nil
}

// validEntityRef is Backstage's parseEntityRef without defaults: a kind and
// a name are required, the namespace is optional.
func validEntityRef(ref string) bool {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok || kind == "" || rest == "" {
		return false
	}
	if ns, name, ok := strings.Cut(rest, "/"); ok {
		return ns != "" && name != "" && !strings.ContainsAny(name, "/:")
	}
	return !strings.Contains(rest, ":")
}

// es256SignatureChars is the length of an ES256 signature in base64url.
const es256SignatureChars = 86

// compact is the compact JWS of payload under the base64url header hdr,
// built in one buffer.
func (k *signingKey) compact(hdr string, payload []byte) (string, error) {
	input := signingInput(hdr, payload, 1+es256SignatureChars)
	buf, err := k.appendSignature(append(input, '.'), input)
	if err != nil {
		return "", err
	}
	return string(buf), nil
}

// signingInput is a JWS signing input, hdr '.' base64url(payload), in a
// slice with room for spare more bytes (the signature, when it is to
// follow in the same buffer).
func signingInput(hdr string, payload []byte, spare int) []byte {
	buf := make([]byte, 0, len(hdr)+1+b64.EncodedLen(len(payload))+spare)
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	return b64.AppendEncode(buf, payload)
}

// appendSignature appends the base64url JWS signature of input to dst.
// input must not overlap dst's spare capacity past len(input).
func (k *signingKey) appendSignature(dst, input []byte) ([]byte, error) {
	h := sha256.Sum256(input)
	switch priv := k.signer.(type) {
	case *ecdsa.PrivateKey:
		// SignASN1 and a parse into fixed-size r||s: ecdsa.Sign would
		// parse the same DER into two big.Ints first.
		der, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
		if err != nil {
			return nil, fmt.Errorf("identity: signing: %w", err)
		}
		var sig [64]byte
		if !rawECDSASignature(der, &sig) {
			return nil, fmt.Errorf("identity: signing: unexpected ECDSA signature encoding")
		}
		return b64.AppendEncode(dst, sig[:]), nil
	default:
		// RS256: PKCS#1 v1.5 over SHA-256, which crypto.Signer does for
		// RSA keys when given crypto.SHA256.
		sig, err := k.signer.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("identity: signing: %w", err)
		}
		return b64.AppendEncode(dst, sig), nil
	}
}

// rawECDSASignature writes the DER ECDSA-Sig-Value der of a P-256
// signature as JWS's r||s, each 32 bytes big-endian.
func rawECDSASignature(der []byte, out *[64]byte) bool {
	var inner cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() ||
		len(r) > 32 || len(s) > 32 {
		return false
	}
	copy(out[32-len(r):32], r)
	copy(out[64-len(s):], s)
	return true
}

// signingKey returns the current key, minting and publishing a new one when
// it has lived one token lifetime (Backstage's lazy rotation).
func (i *Issuer) signingKey(ctx context.Context) (*signingKey, error) {
	now := i.opts.Now()
	if k := i.cur.Load(); k != nil && (k.static || now.Before(k.created.Add(i.exp))) {
		return k, nil
	}
	i.rotateMu.Lock()
	defer i.rotateMu.Unlock()
	old := i.cur.Load()
	if old != nil && now.Before(old.created.Add(i.exp)) {
		return old, nil
	}
	k, err := newSigningKey(now)
	if err != nil {
		return nil, err
	}
	jwk, err := publicJWK(k)
	if err != nil {
		return nil, err
	}
	if err := i.opts.Keys.AddKey(ctx, PublicKey{KID: k.kid, JWK: jwk, CreatedAt: now}); err != nil {
		// Tokens signed with an unpublished key would not verify. The old
		// key stays listed for three lifetimes, so keep signing with it for
		// one more lifetime while the store is away.
		if old != nil && now.Before(old.created.Add(2*i.exp)) {
			i.log.Warn("signing key rotation failed; still signing with the previous key", "kid", old.kid, "error", err)
			return old, nil
		}
		return nil, autherr.Wrap(autherr.NameServiceUnavailable, "Failed to publish a new signing key", err)
	}
	i.cur.Store(k)
	i.keys.Store(nil) // publish the new key in our JWKS at once
	i.log.Info("signing key rotated", "kid", k.kid)
	if i.opts.OnRotate != nil {
		i.opts.OnRotate(k.kid)
	}
	return k, nil
}

func newSigningKey(now time.Time) (*signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generating a signing key: %w", err)
	}
	return newSigningKeyWith(newUUID(), "ES256", priv, now), nil
}

func newSigningKeyWith(kid, alg string, signer crypto.Signer, now time.Time) *signingKey {
	// Key order as Backstage's jose writes them; the uip proof depends on it.
	hdr := func(typ string) string {
		return b64.EncodeToString([]byte(`{"typ":"` + typ + `","alg":"` + alg + `","kid":"` + kid + `"}`))
	}
	return &signingKey{kid: kid, signer: signer, alg: alg, created: now, header: hdr(TypeUser), limitedHdr: hdr(TypeLimitedUser)}
}

func publicJWK(k *signingKey) ([]byte, error) {
	return jose.JSONWebKey{Key: k.signer.Public(), KeyID: k.kid, Algorithm: k.alg}.MarshalJSON()
}

// newUUID is a random (version 4) UUID, the form Backstage uses for kids.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
