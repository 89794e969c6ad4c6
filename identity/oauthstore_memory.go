package identity

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// MemoryOAuthStore is an OAuthStore in process memory: it suits one
// replica. One mutex makes every method atomic.
type MemoryOAuthStore struct {
	mu       sync.Mutex
	clients  map[string]OAuthClient
	sessions map[string]AuthSession
	codes    map[string]*memCode
	refresh  map[string]RefreshSession
	rotated  map[string]string // rotated-out secret hash -> refresh session id
}

type memCode struct {
	AuthCode
	used bool
}

var _ OAuthStore = (*MemoryOAuthStore)(nil)

// NewMemoryOAuthStore returns an empty MemoryOAuthStore.
func NewMemoryOAuthStore() *MemoryOAuthStore {
	return &MemoryOAuthStore{
		clients:  map[string]OAuthClient{},
		sessions: map[string]AuthSession{},
		codes:    map[string]*memCode{},
		refresh:  map[string]RefreshSession{},
		rotated:  map[string]string{},
	}
}

// CreateClient implements OAuthStore.
func (m *MemoryOAuthStore) CreateClient(_ context.Context, c OAuthClient) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ID]; ok {
		return autherr.Conflict("client %q already exists", c.ID)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	m.clients[c.ID] = c
	return nil
}

// GetClient implements OAuthStore.
func (m *MemoryOAuthStore) GetClient(_ context.Context, id string) (OAuthClient, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return OAuthClient{}, autherr.NotFound("no client %q", id)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	return c, nil
}

// TouchClient implements OAuthStore.
func (m *MemoryOAuthStore) TouchClient(_ context.Context, id string, now, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return autherr.NotFound("no client %q", id)
	}
	c.LastUsed, c.Expires = now, expires
	m.clients[id] = c
	return nil
}

// CreateAuthSession implements OAuthStore.
func (m *MemoryOAuthStore) CreateAuthSession(_ context.Context, s AuthSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return autherr.Conflict("authorization session %q already exists", s.ID)
	}
	s.Status, s.UserEntityRef = AuthPending, ""
	m.sessions[s.ID] = s
	return nil
}

// GetAuthSession implements OAuthStore.
func (m *MemoryOAuthStore) GetAuthSession(_ context.Context, id string) (AuthSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return AuthSession{}, autherr.NotFound("no authorization session %q", id)
	}
	return s, nil
}

// ApproveAuthSession implements OAuthStore.
func (m *MemoryOAuthStore) ApproveAuthSession(_ context.Context, id, userEntityRef string, now time.Time) (AuthSession, error) {
	return m.decide(id, AuthApproved, userEntityRef, now)
}

// RejectAuthSession implements OAuthStore.
func (m *MemoryOAuthStore) RejectAuthSession(_ context.Context, id, userEntityRef string, now time.Time) (AuthSession, error) {
	return m.decide(id, AuthRejected, userEntityRef, now)
}

func (m *MemoryOAuthStore) decide(id, status, userEntityRef string, now time.Time) (AuthSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	switch {
	case !ok:
		return AuthSession{}, autherr.NotFound("no authorization session %q", id)
	case s.Status != AuthPending:
		return AuthSession{}, ErrAuthSessionDecided
	case !now.Before(s.Expires):
		return AuthSession{}, ErrAuthSessionExpired
	}
	s.Status, s.UserEntityRef = status, userEntityRef
	m.sessions[id] = s
	return s, nil
}

// CreateCode implements OAuthStore.
func (m *MemoryOAuthStore) CreateCode(_ context.Context, c AuthCode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.codes[c.Hash]; ok {
		return autherr.Conflict("authorization code already exists")
	}
	m.codes[c.Hash] = &memCode{AuthCode: c}
	return nil
}

// RedeemCode implements OAuthStore.
func (m *MemoryOAuthStore) RedeemCode(_ context.Context, hash string, now time.Time) (AuthCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[hash]
	switch {
	case !ok:
		return AuthCode{}, autherr.NotFound("unknown authorization code")
	case c.used:
		return c.AuthCode, ErrCodeReplayed
	case !now.Before(c.Expires):
		return AuthCode{}, ErrCodeExpired
	}
	c.used = true
	return c.AuthCode, nil
}

// CreateRefreshSession implements OAuthStore.
func (m *MemoryOAuthStore) CreateRefreshSession(_ context.Context, s RefreshSession, maxPerUser int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.refresh[s.ID]; ok {
		return 0, autherr.Conflict("refresh session %q already exists", s.ID)
	}
	var mine []RefreshSession
	for _, r := range m.refresh {
		if r.UserEntityRef == s.UserEntityRef {
			mine = append(mine, r)
		}
	}
	slices.SortFunc(mine, func(a, b RefreshSession) int {
		if c := a.LastUsed.Compare(b.LastUsed); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	evicted := 0
	for ; maxPerUser > 0 && evicted < len(mine)-(maxPerUser-1); evicted++ {
		m.deleteRefresh(mine[evicted].ID)
	}
	m.refresh[s.ID] = s
	return evicted, nil
}

func (m *MemoryOAuthStore) deleteRefresh(id string) {
	delete(m.refresh, id)
	for h, sid := range m.rotated {
		if sid == id {
			delete(m.rotated, h)
		}
	}
}

// GetRefreshSession implements OAuthStore.
func (m *MemoryOAuthStore) GetRefreshSession(_ context.Context, id string) (RefreshSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.refresh[id]
	if !ok {
		return RefreshSession{}, autherr.NotFound("no refresh session %q", id)
	}
	return r, nil
}

// RotateRefreshSession implements OAuthStore.
func (m *MemoryOAuthStore) RotateRefreshSession(_ context.Context, id, oldHash, newHash string, answer []byte, graceUntil, now time.Time, idle time.Duration) (RefreshSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.refresh[id]
	if !ok {
		return RefreshSession{}, autherr.NotFound("no refresh session %q", id)
	}
	live := now.Before(r.IdleExpires) && now.Before(r.Expires)
	if r.SecretHash != oldHash {
		switch {
		case r.PrevHash == oldHash && now.Before(r.PrevUntil) && live:
			r.PrevAnswer = slices.Clone(r.PrevAnswer)
			return r, ErrRefreshGraceReplay
		case m.rotated[oldHash] == id:
			m.deleteRefresh(id)
			return RefreshSession{}, ErrRefreshReused
		}
		return RefreshSession{}, autherr.NotFound("invalid refresh token")
	}
	if !live {
		return RefreshSession{}, autherr.NotFound("the refresh token has expired")
	}
	m.rotated[oldHash] = id
	r.SecretHash, r.LastUsed, r.IdleExpires = newHash, now, IdleExpiry(now, idle, r.Expires)
	r.PrevHash, r.PrevAnswer, r.PrevUntil = oldHash, slices.Clone(answer), graceUntil
	m.refresh[id] = r
	return r, nil
}

// IdleExpiry is now+idle, never after absolute: the IdleExpires a rotation
// at now gives.
func IdleExpiry(now time.Time, idle time.Duration, absolute time.Time) time.Time {
	if t := now.Add(idle); t.Before(absolute) {
		return t
	}
	return absolute
}

// DeleteRefreshSession implements OAuthStore.
func (m *MemoryOAuthStore) DeleteRefreshSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteRefresh(id)
	return nil
}

// DeleteRefreshSessionsFor implements OAuthStore.
func (m *MemoryOAuthStore) DeleteRefreshSessionsFor(_ context.Context, userEntityRef, clientID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, r := range m.refresh {
		if r.UserEntityRef == userEntityRef && r.ClientID == clientID {
			m.deleteRefresh(id)
			n++
		}
	}
	return n, nil
}

// DeleteExpired implements OAuthStore.
func (m *MemoryOAuthStore) DeleteExpired(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, c := range m.clients {
		if !c.Expires.IsZero() && !now.Before(c.Expires) {
			delete(m.clients, id)
			n++
		}
	}
	for id, s := range m.sessions {
		if !now.Before(s.Expires) {
			delete(m.sessions, id)
			n++
		}
	}
	for h, c := range m.codes {
		if !now.Before(c.Expires) {
			delete(m.codes, h)
			n++
		}
	}
	for id, r := range m.refresh {
		if !now.Before(r.IdleExpires) || !now.Before(r.Expires) {
			m.deleteRefresh(id)
			n++
		}
	}
	return n, nil
}
