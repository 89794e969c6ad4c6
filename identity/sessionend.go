package identity

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// Reasons a SessionEnd records.
const (
	// ReasonBackchannelLogout is an OpenID Connect back-channel logout
	// token from the provider's IdP.
	ReasonBackchannelLogout = "backchannel-logout"
	// ReasonOperator is `gatehouse sessions revoke`.
	ReasonOperator = "operator"
)

// Session identifies one signed-in browser session as the server knows it
// from its sealed <provider>-session cookie.
type Session struct {
	// Provider is the provider id, e.g. "vcfsso".
	Provider string
	// Sub is the IdP's subject; SID the IdP's session id ("" when the ID
	// token had no sid claim).
	Sub, SID string
	// UserEntityRef is the entity the sign-in resolved to; "" when the
	// provider has no resolver.
	UserEntityRef string
	// Started is the sign-in time. A session signed in before session
	// cookies existed has the zero time: it started before any record.
	Started time.Time
}

// SessionEnd records that every session it matches which started before
// Before has ended. A record matches a session when its Provider is "" (all
// providers) or the session's, and each of Sub, SID and UserEntityRef that
// the record sets equals the session's.
type SessionEnd struct {
	Provider      string
	Sub           string
	SID           string
	UserEntityRef string
	Before        time.Time
	// Reason is ReasonBackchannelLogout or ReasonOperator.
	Reason string
	// Source says who asked: the logout token's issuer, or the operator
	// command. It is shown by `gatehouse sessions list`, never used to match.
	Source string
}

// Validate reports a record that would match nothing or everything.
func (e SessionEnd) Validate() error {
	if e.Sub == "" && e.SID == "" && e.UserEntityRef == "" {
		return autherr.Input("a session end needs a subject, a session id or a user entity ref")
	}
	if e.Before.IsZero() {
		return autherr.Input("a session end needs a time before which sessions have ended")
	}
	return nil
}

// Matches reports whether e ends s: see SessionEnd.
func (e SessionEnd) Matches(s Session) bool {
	if e.Provider != "" && e.Provider != s.Provider {
		return false
	}
	if (e.Sub != "" && e.Sub != s.Sub) || (e.SID != "" && e.SID != s.SID) ||
		(e.UserEntityRef != "" && !strings.EqualFold(e.UserEntityRef, s.UserEntityRef)) {
		return false
	}
	return s.Started.Before(e.Before)
}

// SessionEndFilter selects records for List: those whose UserEntityRef or
// Sub equals the filter's (either may be ""; both "" lists every record).
type SessionEndFilter struct {
	UserEntityRef string
	Sub           string
}

func (f SessionEndFilter) keep(e SessionEnd) bool {
	if f.UserEntityRef != "" && !strings.EqualFold(f.UserEntityRef, e.UserEntityRef) {
		return false
	}
	return f.Sub == "" || f.Sub == e.Sub
}

// SessionEndStore keeps session-end records shared by every replica that
// shares the store, so that a session ended on one is refused by all.
// Implementations must be safe for concurrent use.
type SessionEndStore interface {
	// EndSessions records e, after e.Validate.
	EndSessions(ctx context.Context, e SessionEnd) error
	// Ended reports whether any record matches s.
	Ended(ctx context.Context, s Session) (bool, error)
	// List returns the records f selects, oldest Before first.
	List(ctx context.Context, f SessionEndFilter) ([]SessionEnd, error)
}

// MemorySessionEndStore is a SessionEndStore in process memory: it suits
// one replica.
type MemorySessionEndStore struct {
	mu   sync.RWMutex
	ends []SessionEnd
}

var _ SessionEndStore = (*MemorySessionEndStore)(nil)

// NewMemorySessionEndStore returns an empty MemorySessionEndStore.
func NewMemorySessionEndStore() *MemorySessionEndStore { return &MemorySessionEndStore{} }

// EndSessions implements SessionEndStore.
func (m *MemorySessionEndStore) EndSessions(_ context.Context, e SessionEnd) error {
	if err := e.Validate(); err != nil {
		return err
	}
	// Lower-case, as the SQL store keeps it: entity refs compare
	// case-insensitively in Backstage.
	e.UserEntityRef = strings.ToLower(e.UserEntityRef)
	m.mu.Lock()
	m.ends = append(m.ends, e)
	m.mu.Unlock()
	return nil
}

// Ended implements SessionEndStore.
func (m *MemorySessionEndStore) Ended(_ context.Context, s Session) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.ends {
		if e.Matches(s) {
			return true, nil
		}
	}
	return false, nil
}

// List implements SessionEndStore.
func (m *MemorySessionEndStore) List(_ context.Context, f SessionEndFilter) ([]SessionEnd, error) {
	m.mu.RLock()
	var out []SessionEnd
	for _, e := range m.ends {
		if f.keep(e) {
			out = append(out, e)
		}
	}
	m.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b SessionEnd) int { return a.Before.Compare(b.Before) })
	return out, nil
}
