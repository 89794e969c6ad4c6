package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// PublicKey is a signing key's public half as a KeyStore keeps it. The
// private half never leaves the process that made it (signingKey in
// identity.go holds it in memory only): replicas share public halves so
// that each verifies tokens the others signed.
type PublicKey struct {
	// KID is the key id, the JWS "kid" header of tokens it signed.
	KID string
	// JWK is the public JSON Web Key, as published in the JWKS.
	JWK []byte
	// CreatedAt is when the key was added; JWKS lists keys younger than
	// three token lifetimes.
	CreatedAt time.Time
}

// KeySource lists the public keys an Issuer publishes in its JWKS and
// verifies tokens with. Configured static keys are only a KeySource: they
// are read, never written. Implementations must be safe for concurrent use.
type KeySource interface {
	// ListKeys returns every key, oldest first.
	ListKeys(ctx context.Context) ([]PublicKey, error)
}

// KeyWriter is the capability a rotating Issuer needs besides reading: it
// publishes each new key and deletes keys older than the JWKS window.
// Implementations must be safe for concurrent use.
type KeyWriter interface {
	// AddKey stores k. Adding a KID that exists is a Conflict error.
	AddKey(ctx context.Context, k PublicKey) error
	// RemoveKeys deletes the keys with the given ids; unknown ids are ignored.
	RemoveKeys(ctx context.Context, kids []string) error
}

// KeyStore keeps the public signing keys of every replica that shares it:
// what Options.Keys takes for key rotation. Implementations must be safe
// for concurrent use.
type KeyStore interface {
	KeySource
	KeyWriter
}

// UserInfoStore keeps the claims of the last token issued to each user, so
// that /v1/userinfo can answer ownership for tokens that omit `ent`.
// Implementations must be safe for concurrent use.
type UserInfoStore interface {
	// PutUserInfo stores claims for sub, replacing what was there, and
	// reports whether it wrote: when the stored claims are already these
	// (same UserInfoJSON hash) it writes nothing. Every /refresh records
	// user info, and the claims rarely change, so most calls write nothing.
	PutUserInfo(ctx context.Context, sub string, claims map[string]any) (written bool, err error)
	// GetUserInfo returns the stored claims, or an autherr NotFound
	// "User info not found".
	GetUserInfo(ctx context.Context, sub string) (map[string]any, error)
}

// MemoryKeyStore is a KeyStore in process memory. Like Backstage's memory
// store it only knows this process's keys, so it suits one replica.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys []PublicKey
}

var _ KeyStore = (*MemoryKeyStore)(nil)

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore { return &MemoryKeyStore{} }

// AddKey implements KeyStore.
func (s *MemoryKeyStore) AddKey(_ context.Context, k PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.KID == k.KID {
			return autherr.Conflict("signing key %s already exists", k.KID)
		}
	}
	k.JWK = slices.Clone(k.JWK)
	s.keys = append(s.keys, k)
	slices.SortStableFunc(s.keys, func(a, b PublicKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return nil
}

// ListKeys implements KeyStore.
func (s *MemoryKeyStore) ListKeys(context.Context) ([]PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PublicKey, len(s.keys))
	for i, k := range s.keys {
		k.JWK = slices.Clone(k.JWK)
		out[i] = k
	}
	return out, nil
}

// RemoveKeys implements KeyStore.
func (s *MemoryKeyStore) RemoveKeys(_ context.Context, kids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(k PublicKey) bool { return slices.Contains(kids, k.KID) })
	return nil
}

// UserInfoJSON is the stored form of user info claims and its SHA-256 in
// hex, what stores compare to skip a write of unchanged claims. The JSON is
// canonical for the values tokens hold: encoding/json writes map keys
// sorted, at every depth, so equal claims give equal bytes whatever the
// map's iteration order.
func UserInfoJSON(claims map[string]any) (body []byte, hash string, err error) {
	body, err = json.Marshal(claims)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	return body, hex.EncodeToString(sum[:]), nil
}

// MemoryUserInfoStore is a UserInfoStore in process memory.
type MemoryUserInfoStore struct {
	mu sync.RWMutex
	m  map[string]memoryUserInfo
}

// memoryUserInfo is one user's stored claims and their UserInfoJSON hash.
type memoryUserInfo struct {
	claims map[string]any
	hash   string
}

var _ UserInfoStore = (*MemoryUserInfoStore)(nil)

// NewMemoryUserInfoStore returns an empty MemoryUserInfoStore.
func NewMemoryUserInfoStore() *MemoryUserInfoStore {
	return &MemoryUserInfoStore{m: map[string]memoryUserInfo{}}
}

// PutUserInfo implements UserInfoStore. The map is copied (one level), so
// later changes by the caller do not show. Claims that JSON cannot encode
// are an Input error, as in the SQL store.
func (s *MemoryUserInfoStore) PutUserInfo(_ context.Context, sub string, claims map[string]any) (bool, error) {
	_, hash, err := UserInfoJSON(claims)
	if err != nil {
		return false, autherr.Input("user info for %s cannot be encoded as JSON", sub)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[sub].hash == hash {
		return false, nil
	}
	s.m[sub] = memoryUserInfo{claims: maps.Clone(claims), hash: hash}
	return true, nil
}

// GetUserInfo implements UserInfoStore. The returned map is a copy.
func (s *MemoryUserInfoStore) GetUserInfo(_ context.Context, sub string) (map[string]any, error) {
	s.mu.RLock()
	c, ok := s.m[sub]
	s.mu.RUnlock()
	if !ok {
		return nil, autherr.NotFound("User info not found")
	}
	return maps.Clone(c.claims), nil
}
