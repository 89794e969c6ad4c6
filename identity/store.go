package identity

import (
	"context"
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
	// PutUserInfo stores claims for sub, replacing what was there.
	PutUserInfo(ctx context.Context, sub string, claims map[string]any) error
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

// MemoryUserInfoStore is a UserInfoStore in process memory.
type MemoryUserInfoStore struct {
	mu sync.RWMutex
	m  map[string]map[string]any
}

var _ UserInfoStore = (*MemoryUserInfoStore)(nil)

// NewMemoryUserInfoStore returns an empty MemoryUserInfoStore.
func NewMemoryUserInfoStore() *MemoryUserInfoStore {
	return &MemoryUserInfoStore{m: map[string]map[string]any{}}
}

// PutUserInfo implements UserInfoStore. The map is copied (one level), so
// later changes by the caller do not show.
func (s *MemoryUserInfoStore) PutUserInfo(_ context.Context, sub string, claims map[string]any) error {
	c := make(map[string]any, len(claims))
	for k, v := range claims {
		c[k] = v
	}
	s.mu.Lock()
	s.m[sub] = c
	s.mu.Unlock()
	return nil
}

// GetUserInfo implements UserInfoStore. The returned map is a copy.
func (s *MemoryUserInfoStore) GetUserInfo(_ context.Context, sub string) (map[string]any, error) {
	s.mu.RLock()
	c, ok := s.m[sub]
	s.mu.RUnlock()
	if !ok {
		return nil, autherr.NotFound("User info not found")
	}
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out, nil
}
