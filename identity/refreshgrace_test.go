package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/storetest"
)

func TestMemoryRefreshGraceStoreConformance(t *testing.T) {
	storetest.RunRefreshGraceStore(t, func(*testing.T) identity.RefreshGraceStore { return identity.NewMemoryRefreshGraceStore() })
}

func TestClaimOrAwaitRefresh(t *testing.T) {
	ctx := context.Background()
	s := identity.NewMemoryRefreshGraceStore()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	if got, err := identity.ClaimOrAwaitRefresh(ctx, s, "k", now, time.Minute, time.Millisecond, false); err != nil || got.Won || got.Answer != nil {
		t.Fatalf("no row, no claim: %+v, %v", got, err)
	}
	if got, err := identity.ClaimOrAwaitRefresh(ctx, s, "k", now, time.Minute, time.Millisecond, true); err != nil || !got.Won {
		t.Fatalf("first claim: %+v, %v", got, err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		s.PutRefresh(ctx, "k", []byte("answer"), now().Add(time.Minute))
	}()
	// Both a claimer and a looker wait for the pending claim's answer.
	for _, claim := range []bool{true, false} {
		got, err := identity.ClaimOrAwaitRefresh(ctx, s, "k", now, time.Minute, time.Millisecond, claim)
		if err != nil || got.Won || string(got.Answer) != "answer" {
			t.Fatalf("claim=%v: %+v, %v", claim, got, err)
		}
	}
	if err := s.ReleaseRefresh(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	s.ClaimRefresh(ctx, "pending", now(), now().Add(time.Minute))
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := identity.ClaimOrAwaitRefresh(cctx, s, "pending", now, time.Minute, time.Millisecond, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past ctx: %v", err)
	}
}
