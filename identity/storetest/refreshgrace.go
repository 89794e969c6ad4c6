package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// RunRefreshGraceStore runs the refresh grace store cases. open must return
// an empty store.
func RunRefreshGraceStore(t *testing.T, open func(t *testing.T) identity.RefreshGraceStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	answer := []byte("sealed-answer\x00\xff")

	t.Run("ClaimPutGet", func(t *testing.T) {
		s := open(t)
		if a, live, err := s.GetRefresh(ctx, "k", base); err != nil || live || a != nil {
			t.Fatalf("new store: GetRefresh = %q, %v, %v; want nothing", a, live, err)
		}
		won, err := s.ClaimRefresh(ctx, "k", base, base.Add(time.Minute))
		if err != nil || !won {
			t.Fatalf("first ClaimRefresh = %v, %v; want won", won, err)
		}
		if won, err := s.ClaimRefresh(ctx, "k", base, base.Add(time.Minute)); err != nil || won {
			t.Fatalf("second ClaimRefresh = %v, %v; want lost", won, err)
		}
		if a, live, err := s.GetRefresh(ctx, "k", base); err != nil || !live || a != nil {
			t.Fatalf("pending claim: GetRefresh = %q, %v, %v; want live, no answer", a, live, err)
		}
		if err := s.PutRefresh(ctx, "k", answer, base.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		a, live, err := s.GetRefresh(ctx, "k", base.Add(29*time.Second))
		if err != nil || !live || string(a) != string(answer) {
			t.Fatalf("answered: GetRefresh = %q, %v, %v; want %q", a, live, err, answer)
		}
		// An answer is not a claim to release, nor may anyone claim it.
		if err := s.ReleaseRefresh(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if won, err := s.ClaimRefresh(ctx, "k", base.Add(time.Second), base.Add(time.Minute)); err != nil || won {
			t.Fatalf("ClaimRefresh over an answer = %v, %v; want lost", won, err)
		}
		if a, live, _ := s.GetRefresh(ctx, "k", base.Add(time.Second)); !live || string(a) != string(answer) {
			t.Fatalf("after Release and a lost claim the answer is gone: %q %v", a, live)
		}
		// Other keys are independent.
		if won, err := s.ClaimRefresh(ctx, "other", base, base.Add(time.Minute)); err != nil || !won {
			t.Fatalf("ClaimRefresh(other) = %v, %v; want won", won, err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := open(t)
		if err := s.PutRefresh(ctx, "k", answer, base.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, live, err := s.GetRefresh(ctx, "k", base.Add(30*time.Second)); err != nil || live {
			t.Fatalf("GetRefresh at expiry = %v, %v; want gone", live, err)
		}
		// An expired row is replaced by a new claim.
		if won, err := s.ClaimRefresh(ctx, "k", base.Add(31*time.Second), base.Add(time.Minute)); err != nil || !won {
			t.Fatalf("ClaimRefresh after expiry = %v, %v; want won", won, err)
		}
		// A claim whose holder died expires too.
		if won, err := s.ClaimRefresh(ctx, "k", base.Add(time.Minute), base.Add(2*time.Minute)); err != nil || !won {
			t.Fatalf("ClaimRefresh after the claim expired = %v, %v; want won", won, err)
		}
		// Also at once, before any sweep of expired rows could have run.
		at := base.Add(time.Hour)
		if won, err := s.ClaimRefresh(ctx, "quick", at, at.Add(10*time.Millisecond)); err != nil || !won {
			t.Fatalf("ClaimRefresh(quick) = %v, %v; want won", won, err)
		}
		if won, err := s.ClaimRefresh(ctx, "quick", at.Add(5*time.Millisecond), at.Add(time.Minute)); err != nil || won {
			t.Fatalf("ClaimRefresh(quick) while live = %v, %v; want lost", won, err)
		}
		if won, err := s.ClaimRefresh(ctx, "quick", at.Add(20*time.Millisecond), at.Add(time.Minute)); err != nil || !won {
			t.Fatalf("ClaimRefresh(quick) 10 ms after it expired = %v, %v; want won", won, err)
		}
		if a, live, err := s.GetRefresh(ctx, "quick", at.Add(30*time.Millisecond)); err != nil || !live || a != nil {
			t.Fatalf("taken-over claim: GetRefresh = %q, %v, %v; want a live pending claim", a, live, err)
		}
	})

	t.Run("Release", func(t *testing.T) {
		s := open(t)
		if won, _ := s.ClaimRefresh(ctx, "k", base, base.Add(time.Minute)); !won {
			t.Fatal("claim lost on an empty store")
		}
		if err := s.ReleaseRefresh(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, live, _ := s.GetRefresh(ctx, "k", base); live {
			t.Fatal("released claim still live")
		}
		if won, err := s.ClaimRefresh(ctx, "k", base, base.Add(time.Minute)); err != nil || !won {
			t.Fatalf("ClaimRefresh after release = %v, %v; want won", won, err)
		}
		if err := s.ReleaseRefresh(ctx, "never-claimed"); err != nil {
			t.Fatalf("ReleaseRefresh of an unknown key: %v", err)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		for i, k := range []string{"a", "b", "c"} {
			if err := s.PutRefresh(ctx, k, answer, base.Add(time.Duration(i+1)*10*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteExpiredRefresh(ctx, base.Add(20*time.Second))
		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredRefresh = %d, %v; want 2 (a and b)", n, err)
		}
		if _, live, _ := s.GetRefresh(ctx, "c", base.Add(20*time.Second)); !live {
			t.Fatal("c was deleted before its expiry")
		}
		// A claim deletes expired rows of other keys on the way.
		if _, err := s.ClaimRefresh(ctx, "d", base.Add(time.Hour), base.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredRefresh(ctx, base.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("after a claim, DeleteExpiredRefresh found %d expired rows (%v); want 0", n, err)
		}
	})

	t.Run("ConcurrentClaimOneWinner", func(t *testing.T) {
		s := open(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				won, err := s.ClaimRefresh(ctx, "k", base, base.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if won {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d callers won the claim; want exactly 1", wins.Load())
		}
	})
}
