package identity

import (
	"context"
	"slices"
	"sync"
	"time"
)

// RefreshGraceStore elects, across every replica that shares it, the one
// caller that spends a rotating refresh token at the IdP, and keeps that
// caller's answer for a grace period so that the other callers holding the
// same (now spent) token use it instead of being refused by the IdP.
//
// Keys are opaque strings the caller derives from a hash of the refresh
// token (never the token itself); answers are opaque bytes the caller has
// sealed. The store never sees a token in the clear. Every method takes the
// caller's clock as now, so that a test clock governs expiry. A row whose
// expiry is not after now does not exist for any method. Implementations
// must be safe for concurrent use, also from several processes when they
// share a database.
type RefreshGraceStore interface {
	// ClaimRefresh records a pending claim on key until expires, and
	// reports whether this caller made it. At most one caller wins while a
	// claim or an answer for key is live; an expired row is replaced. At
	// most once a second per process it also deletes the expired rows of
	// every key, so that the table stays small without a sweeper.
	ClaimRefresh(ctx context.Context, key string, now, expires time.Time) (bool, error)
	// PutRefresh stores answer under key until expires, replacing the
	// claim (or creating the row when the claim has expired meanwhile).
	PutRefresh(ctx context.Context, key string, answer []byte, expires time.Time) error
	// GetRefresh reports whether a live row exists for key and, when it
	// holds an answer, returns it; a live claim without an answer yet
	// returns (nil, true, nil).
	GetRefresh(ctx context.Context, key string, now time.Time) (answer []byte, live bool, err error)
	// ReleaseRefresh deletes key's claim when it holds no answer, so that a
	// waiting caller may claim it at once after the winner's IdP call
	// failed. An answer already stored is kept.
	ReleaseRefresh(ctx context.Context, key string) error
	// DeleteExpiredRefresh deletes every row whose expiry is not after now
	// and returns how many it deleted.
	DeleteExpiredRefresh(ctx context.Context, now time.Time) (int, error)
}

// MemoryRefreshGraceStore is a RefreshGraceStore in process memory: it
// elects one caller among the requests this process serves, which is all
// that one replica without a database needs.
type MemoryRefreshGraceStore struct {
	mu   sync.Mutex
	rows map[string]graceRow
	// swept is when a claim last swept expired rows: claims sweep at most
	// once a second, so that a busy store is not scanned on every claim.
	swept time.Time
}

type graceRow struct {
	answer  []byte
	expires time.Time
}

var _ RefreshGraceStore = (*MemoryRefreshGraceStore)(nil)

// NewMemoryRefreshGraceStore returns an empty MemoryRefreshGraceStore.
func NewMemoryRefreshGraceStore() *MemoryRefreshGraceStore {
	return &MemoryRefreshGraceStore{rows: map[string]graceRow{}}
}

// ClaimRefresh implements RefreshGraceStore.
func (s *MemoryRefreshGraceStore) ClaimRefresh(_ context.Context, key string, now, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swept) >= time.Second || now.Before(s.swept) {
		s.deleteExpiredLocked(now)
		s.swept = now
	}
	if r, ok := s.rows[key]; ok && r.expires.After(now) {
		return false, nil
	}
	s.rows[key] = graceRow{expires: expires}
	return true, nil
}

// PutRefresh implements RefreshGraceStore.
func (s *MemoryRefreshGraceStore) PutRefresh(_ context.Context, key string, answer []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[key] = graceRow{answer: slices.Clone(answer), expires: expires}
	return nil
}

// GetRefresh implements RefreshGraceStore.
func (s *MemoryRefreshGraceStore) GetRefresh(_ context.Context, key string, now time.Time) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[key]
	if !ok || !r.expires.After(now) {
		return nil, false, nil
	}
	return slices.Clone(r.answer), true, nil
}

// ReleaseRefresh implements RefreshGraceStore.
func (s *MemoryRefreshGraceStore) ReleaseRefresh(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rows[key]; ok && r.answer == nil {
		delete(s.rows, key)
	}
	return nil
}

// DeleteExpiredRefresh implements RefreshGraceStore.
func (s *MemoryRefreshGraceStore) DeleteExpiredRefresh(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteExpiredLocked(now), nil
}

func (s *MemoryRefreshGraceStore) deleteExpiredLocked(now time.Time) int {
	n := 0
	for k, r := range s.rows {
		if !r.expires.After(now) {
			delete(s.rows, k)
			n++
		}
	}
	return n
}

// RefreshClaim is what ClaimOrAwaitRefresh found for a key.
type RefreshClaim struct {
	// Won: this caller holds the claim. It must record its answer with
	// PutRefresh or give the claim up with ReleaseRefresh.
	Won bool
	// Answer is the live answer another caller recorded (sealed, as that
	// caller stored it); nil when Won or when there is none.
	Answer []byte
}

// ClaimOrAwaitRefresh is the election every user of a RefreshGraceStore
// runs: it claims key until now+claimTTL (only when claim is true), or
// returns the answer recorded under it, and while another caller's claim
// is pending it looks again after a pause that doubles up to pollMax. It
// returns the zero RefreshClaim when no live row exists and claim is
// false (the caller decides what that means). A store error is returned
// as is; when ctx ends first, ctx's error.
func ClaimOrAwaitRefresh(ctx context.Context, s RefreshGraceStore, key string, now func() time.Time, claimTTL, pollMax time.Duration, claim bool) (RefreshClaim, error) {
	wait := min(5*time.Millisecond, pollMax)
	for {
		t := now()
		if claim {
			won, err := s.ClaimRefresh(ctx, key, t, t.Add(claimTTL))
			if err != nil || won {
				return RefreshClaim{Won: won}, err
			}
		}
		answer, live, err := s.GetRefresh(ctx, key, t)
		if err != nil {
			return RefreshClaim{}, err
		}
		if answer != nil {
			return RefreshClaim{Answer: answer}, nil
		}
		if !live && !claim {
			return RefreshClaim{}, nil
		}
		// A claim is pending (or was released since, after its holder
		// failed): look again shortly.
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return RefreshClaim{}, ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, pollMax)
	}
}
