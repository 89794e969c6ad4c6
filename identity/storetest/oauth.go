package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// RunOAuthStore runs the OAuth store cases, including the single-use
// guarantees under concurrency. open must return an empty store.
func RunOAuthStore(t *testing.T, open func(t *testing.T) identity.OAuthStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const racers = 20

	// race runs f racers times at once and returns the errors.
	race := func(f func() error) []error {
		errs := make([]error, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = f()
			}()
		}
		close(start)
		wg.Wait()
		return errs
	}
	winners := func(errs []error) int {
		n := 0
		for _, err := range errs {
			if err == nil {
				n++
			}
		}
		return n
	}

	t.Run("Clients", func(t *testing.T) {
		s := open(t)
		c := identity.OAuthClient{ID: "c1", SecretHash: identity.HashSecret("secret"), Name: "Backstage CLI",
			RedirectURIs: []string{"http://127.0.0.1:5000/cb", "http://localhost/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
			ResponseTypes: []string{"code"}, Scope: "openid offline_access", Created: t0, Expires: t0.Add(time.Hour), LastUsed: t0}
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateClient(ctx, c); !autherr.Is(err, autherr.NameConflict) {
			t.Errorf("second CreateClient = %v; want Conflict", err)
		}
		got, err := s.GetClient(ctx, "c1")
		if err != nil || !sameClient(got, c) {
			t.Errorf("GetClient = %+v, %v; want %+v", got, err, c)
		}
		if _, err := s.GetClient(ctx, "nope"); !autherr.IsNotFound(err) {
			t.Errorf("GetClient(unknown) = %v; want NotFound", err)
		}
		if err := s.TouchClient(ctx, "c1", t0.Add(time.Minute), c.Expires); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetClient(ctx, "c1"); !got.LastUsed.Equal(t0.Add(time.Minute)) || !got.Expires.Equal(c.Expires) {
			t.Errorf("LastUsed, Expires = %v, %v after TouchClient", got.LastUsed, got.Expires)
		}
		// Touching moves the registration's expiry (an unused client
		// lapses, one in use is kept).
		if err := s.TouchClient(ctx, "c1", t0.Add(2*time.Minute), t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetClient(ctx, "c1"); !got.Expires.Equal(t0.Add(3 * time.Hour)) {
			t.Errorf("Expires = %v after TouchClient; want %v", got.Expires, t0.Add(3*time.Hour))
		}
		if n, err := s.DeleteExpired(ctx, t0.Add(2*time.Hour)); err != nil || n != 0 {
			t.Errorf("DeleteExpired before the moved expiry = %d, %v; want 0", n, err)
		}
		if err := s.TouchClient(ctx, "c1", t0.Add(3*time.Minute), c.Expires); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchClient(ctx, "nope", t0, time.Time{}); !autherr.IsNotFound(err) {
			t.Errorf("TouchClient(unknown) = %v; want NotFound", err)
		}
		forever := c
		forever.ID, forever.Expires = "c2", time.Time{}
		if err := s.CreateClient(ctx, forever); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpired(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
			t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
		}
		if _, err := s.GetClient(ctx, "c1"); !autherr.IsNotFound(err) {
			t.Errorf("expired client survived DeleteExpired: %v", err)
		}
		if got, err := s.GetClient(ctx, "c2"); err != nil || !got.Expires.IsZero() {
			t.Errorf("never-expiring client = %+v, %v", got, err)
		}
	})

	newSession := func(id string) identity.AuthSession {
		return identity.AuthSession{ID: id, ClientID: "c1", RedirectURI: "http://127.0.0.1:5000/cb", Scope: "openid",
			CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", State: "st", Nonce: "n",
			Resource: "https://backstage.example/api", Expires: t0.Add(time.Hour), Status: identity.AuthApproved, UserEntityRef: "user:default/mallory"}
	}

	t.Run("AuthSessions", func(t *testing.T) {
		s := open(t)
		in := newSession("s1")
		if err := s.CreateAuthSession(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAuthSession(ctx, in); !autherr.Is(err, autherr.NameConflict) {
			t.Errorf("second CreateAuthSession = %v; want Conflict", err)
		}
		want := in
		want.Status, want.UserEntityRef = identity.AuthPending, ""
		if got, err := s.GetAuthSession(ctx, "s1"); err != nil || !sameSession(got, want) {
			t.Errorf("GetAuthSession = %+v, %v; want %+v", got, err, want)
		}
		got, err := s.ApproveAuthSession(ctx, "s1", "user:default/alice", t0)
		want.Status, want.UserEntityRef = identity.AuthApproved, "user:default/alice"
		if err != nil || !sameSession(got, want) {
			t.Errorf("Approve = %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.RejectAuthSession(ctx, "s1", "user:default/bob", t0); !errors.Is(err, identity.ErrAuthSessionDecided) {
			t.Errorf("Reject after Approve = %v; want ErrAuthSessionDecided", err)
		}
		if err := s.CreateAuthSession(ctx, newSession("s2")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.RejectAuthSession(ctx, "s2", "user:default/bob", t0); err != nil || got.Status != identity.AuthRejected {
			t.Errorf("Reject = %+v, %v", got, err)
		}
		if err := s.CreateAuthSession(ctx, newSession("s3")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApproveAuthSession(ctx, "s3", "user:default/alice", t0.Add(time.Hour)); !errors.Is(err, identity.ErrAuthSessionExpired) {
			t.Errorf("Approve at expiry = %v; want ErrAuthSessionExpired", err)
		}
		if _, err := s.ApproveAuthSession(ctx, "nope", "user:default/alice", t0); !autherr.IsNotFound(err) || errors.Is(err, identity.ErrAuthSessionExpired) {
			t.Errorf("Approve(unknown) = %v; want NotFound", err)
		}
		if n, err := s.DeleteExpired(ctx, t0.Add(time.Hour)); err != nil || n != 3 {
			t.Errorf("DeleteExpired = %d, %v; want 3", n, err)
		}
		if _, err := s.GetAuthSession(ctx, "s1"); !autherr.IsNotFound(err) {
			t.Errorf("expired session survived: %v", err)
		}
	})

	t.Run("ApproveRace", func(t *testing.T) {
		s := open(t)
		if err := s.CreateAuthSession(ctx, newSession("s1")); err != nil {
			t.Fatal(err)
		}
		errs := race(func() error {
			_, err := s.ApproveAuthSession(ctx, "s1", "user:default/alice", t0)
			return err
		})
		if n := winners(errs); n != 1 {
			t.Fatalf("%d of %d concurrent approvals won; want exactly 1 (%v)", n, racers, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, identity.ErrAuthSessionDecided) {
				t.Errorf("a losing approval = %v; want ErrAuthSessionDecided", err)
			}
		}
	})

	code := identity.AuthCode{Hash: identity.HashSecret("the-code"), SessionID: "s1", ClientID: "c1",
		RedirectURI: "http://127.0.0.1:5000/cb", UserEntityRef: "user:default/alice", Expires: t0.Add(10 * time.Minute)}

	t.Run("Codes", func(t *testing.T) {
		s := open(t)
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateCode(ctx, code); !autherr.Is(err, autherr.NameConflict) {
			t.Errorf("second CreateCode = %v; want Conflict", err)
		}
		got, err := s.RedeemCode(ctx, code.Hash, t0)
		if err != nil || !sameCode(got, code) {
			t.Errorf("RedeemCode = %+v, %v; want %+v", got, err, code)
		}
		got, err = s.RedeemCode(ctx, code.Hash, t0)
		if !errors.Is(err, identity.ErrCodeReplayed) || !sameCode(got, code) {
			t.Errorf("second RedeemCode = %+v, %v; want the record and ErrCodeReplayed", got, err)
		}
		if _, err := s.RedeemCode(ctx, identity.HashSecret("other"), t0); !autherr.IsNotFound(err) {
			t.Errorf("RedeemCode(unknown) = %v; want NotFound", err)
		}
		late := code
		late.Hash = identity.HashSecret("late")
		if err := s.CreateCode(ctx, late); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemCode(ctx, late.Hash, late.Expires); !errors.Is(err, identity.ErrCodeExpired) || !autherr.IsNotFound(err) {
			t.Errorf("RedeemCode at expiry = %v; want ErrCodeExpired", err)
		}
		if n, err := s.DeleteExpired(ctx, late.Expires); err != nil || n != 2 {
			t.Errorf("DeleteExpired = %d, %v; want 2", n, err)
		}
		if _, err := s.RedeemCode(ctx, code.Hash, t0); !autherr.IsNotFound(err) {
			t.Errorf("RedeemCode after cleanup = %v; want NotFound", err)
		}
	})

	t.Run("RedeemRace", func(t *testing.T) {
		s := open(t)
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		errs := race(func() error {
			_, err := s.RedeemCode(ctx, code.Hash, t0)
			return err
		})
		if n := winners(errs); n != 1 {
			t.Fatalf("%d of %d concurrent redemptions won; want exactly 1 (%v)", n, racers, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, identity.ErrCodeReplayed) {
				t.Errorf("a losing redemption = %v; want ErrCodeReplayed", err)
			}
		}
	})

	const idle, absolute = 24 * time.Hour, 30 * 24 * time.Hour
	newRefresh := func(id, user, client string, at time.Time) identity.RefreshSession {
		return identity.RefreshSession{ID: id, UserEntityRef: user, ClientID: client, Scope: "openid offline_access", Resource: "https://mcp.example/" + id,
			SecretHash: identity.HashSecret(id + "-secret-0"), Created: at, LastUsed: at,
			IdleExpires: identity.IdleExpiry(at, idle, at.Add(absolute)), Expires: at.Add(absolute)}
	}

	t.Run("RefreshRotation", func(t *testing.T) {
		s := open(t)
		r := newRefresh("r1", "user:default/alice", "c1", t0)
		if _, err := s.CreateRefreshSession(ctx, r, 20); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetRefreshSession(ctx, "r1"); err != nil || !sameRefresh(got, r) {
			t.Errorf("GetRefreshSession = %+v, %v; want %+v", got, err, r)
		}
		h1 := identity.HashSecret("r1-secret-1")
		at := t0.Add(time.Hour)
		got, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, h1, nil, at, at, idle)
		want := r
		want.SecretHash, want.LastUsed, want.IdleExpires = h1, at, at.Add(idle)
		if err != nil || !sameRefresh(got, want) {
			t.Errorf("Rotate = %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.RotateRefreshSession(ctx, "r1", identity.HashSecret("never issued"), identity.HashSecret("x"), nil, at, at, idle); !autherr.IsNotFound(err) || errors.Is(err, identity.ErrRefreshReused) {
			t.Errorf("Rotate with a wrong secret = %v; want NotFound", err)
		}
		if _, err := s.GetRefreshSession(ctx, "r1"); err != nil {
			t.Errorf("a wrong secret revoked the session: %v", err)
		}
		// Reuse of the rotated-out secret revokes the family, including
		// the current secret h1.
		if _, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, identity.HashSecret("x"), nil, at, at, idle); !errors.Is(err, identity.ErrRefreshReused) {
			t.Errorf("Rotate with the old secret = %v; want ErrRefreshReused", err)
		}
		if _, err := s.GetRefreshSession(ctx, "r1"); !autherr.IsNotFound(err) {
			t.Errorf("the family survived reuse: %v", err)
		}
		if _, err := s.RotateRefreshSession(ctx, "r1", h1, identity.HashSecret("y"), nil, at, at, idle); !autherr.IsNotFound(err) {
			t.Errorf("the current secret works after reuse: %v", err)
		}
	})

	t.Run("RefreshRotateRace", func(t *testing.T) {
		s := open(t)
		r := newRefresh("r1", "user:default/alice", "c1", t0)
		if _, err := s.CreateRefreshSession(ctx, r, 20); err != nil {
			t.Fatal(err)
		}
		var i int
		var mu sync.Mutex
		errs := race(func() error {
			mu.Lock()
			i++
			h := identity.HashSecret(fmt.Sprint("new-", i))
			mu.Unlock()
			_, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, h, nil, t0.Add(time.Minute), t0.Add(time.Minute), idle)
			return err
		})
		if n := winners(errs); n != 1 {
			t.Fatalf("%d of %d concurrent rotations won; want exactly 1 (%v)", n, racers, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, identity.ErrRefreshReused) && !autherr.IsNotFound(err) {
				t.Errorf("a losing rotation = %v", err)
			}
		}
		if _, err := s.GetRefreshSession(ctx, "r1"); !autherr.IsNotFound(err) {
			t.Errorf("the losers' reuse did not revoke the family: %v", err)
		}
	})

	t.Run("RefreshGraceReplay", func(t *testing.T) {
		s := open(t)
		r := newRefresh("r1", "user:default/alice", "c1", t0)
		if _, err := s.CreateRefreshSession(ctx, r, 20); err != nil {
			t.Fatal(err)
		}
		h1, answer := identity.HashSecret("r1-secret-1"), []byte("sealed answer \x00\xff")
		at := t0.Add(time.Hour)
		grace := at.Add(10 * time.Second)
		if _, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, h1, answer, grace, at, idle); err != nil {
			t.Fatal(err)
		}
		want := r
		want.SecretHash, want.LastUsed, want.IdleExpires = h1, at, at.Add(idle)
		if got, err := s.GetRefreshSession(ctx, "r1"); err != nil || !sameRefresh(got, want) || !samePrev(got, r.SecretHash, answer, grace) {
			t.Errorf("GetRefreshSession after rotation = %+v, %v; want %+v with the previous rotation", got, err, want)
		}
		// Within the grace period the old secret replays the answer and
		// changes nothing, however often.
		for k := range 2 {
			got, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, identity.HashSecret(fmt.Sprint("other-", k)), []byte("x"), grace.Add(time.Minute), grace.Add(-time.Microsecond), idle)
			if !errors.Is(err, identity.ErrRefreshGraceReplay) || !sameRefresh(got, want) || !samePrev(got, r.SecretHash, answer, grace) {
				t.Fatalf("replay %d within the grace = %+v, %v; want the stored session and ErrRefreshGraceReplay", k, got, err)
			}
		}
		if got, err := s.GetRefreshSession(ctx, "r1"); err != nil || !sameRefresh(got, want) || !samePrev(got, r.SecretHash, answer, grace) {
			t.Errorf("a replay changed the session: %+v, %v", got, err)
		}
		// At the grace period's end the old secret is reuse.
		if _, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, identity.HashSecret("late"), nil, grace, grace, idle); !errors.Is(err, identity.ErrRefreshReused) {
			t.Errorf("the old secret after the grace = %v; want ErrRefreshReused", err)
		}
		if _, err := s.GetRefreshSession(ctx, "r1"); !autherr.IsNotFound(err) {
			t.Errorf("the family survived reuse after the grace: %v", err)
		}
	})

	t.Run("RefreshGraceRace", func(t *testing.T) {
		s := open(t)
		r := newRefresh("r1", "user:default/alice", "c1", t0)
		if _, err := s.CreateRefreshSession(ctx, r, 20); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		var i int
		var mu sync.Mutex
		errs := race(func() error {
			mu.Lock()
			i++
			k := i
			mu.Unlock()
			got, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, identity.HashSecret(fmt.Sprint("new-", k)), []byte(fmt.Sprint("answer-", k)), at.Add(10*time.Second), at, idle)
			if errors.Is(err, identity.ErrRefreshGraceReplay) && (got.PrevHash != r.SecretHash || len(got.PrevAnswer) == 0) {
				return fmt.Errorf("a replay without the winner's answer: %+v", got)
			}
			return err
		})
		if n := winners(errs); n != 1 {
			t.Fatalf("%d of %d concurrent rotations won; want exactly 1 (%v)", n, racers, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, identity.ErrRefreshGraceReplay) {
				t.Errorf("a losing rotation = %v; want ErrRefreshGraceReplay", err)
			}
		}
		if _, err := s.GetRefreshSession(ctx, "r1"); err != nil {
			t.Errorf("concurrent rotations within the grace revoked the family: %v", err)
		}
	})

	t.Run("RefreshExpiry", func(t *testing.T) {
		s := open(t)
		r := newRefresh("r1", "user:default/alice", "c1", t0)
		if _, err := s.CreateRefreshSession(ctx, r, 20); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefreshSession(ctx, "r1", r.SecretHash, identity.HashSecret("n"), nil, r.IdleExpires, r.IdleExpires, idle); !autherr.IsNotFound(err) {
			t.Errorf("Rotate at idle expiry = %v; want NotFound", err)
		}
		// Rotating every idle period keeps a session alive only until
		// its absolute end, which rotation never moves.
		h, at := r.SecretHash, t0
		for k := 1; ; k++ {
			at = at.Add(idle - time.Minute)
			nh := identity.HashSecret(fmt.Sprint("s", k))
			got, err := s.RotateRefreshSession(ctx, "r1", h, nh, nil, at, at, idle)
			if !at.Before(r.Expires) {
				if !autherr.IsNotFound(err) {
					t.Fatalf("Rotate past the absolute end = %v; want NotFound", err)
				}
				break
			}
			if err != nil {
				t.Fatalf("Rotate %d at %v: %v", k, at, err)
			}
			if !got.Expires.Equal(r.Expires) || got.IdleExpires.After(r.Expires) {
				t.Fatalf("rotation moved the absolute end: %+v", got)
			}
			h = nh
		}
		other := newRefresh("r2", "user:default/bob", "c1", t0.Add(absolute))
		if _, err := s.CreateRefreshSession(ctx, other, 20); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpired(ctx, r.Expires); err != nil || n != 1 {
			t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
		}
		if _, err := s.GetRefreshSession(ctx, "r2"); err != nil {
			t.Errorf("an unexpired session was cleaned up: %v", err)
		}
	})

	t.Run("RefreshPerUserCap", func(t *testing.T) {
		s := open(t)
		alice := "user:default/alice"
		for i, c := range []string{"c1", "c2", "c3"} {
			if _, err := s.CreateRefreshSession(ctx, newRefresh("r"+c, alice, c, t0.Add(time.Duration(i)*time.Minute)), 3); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateRefreshSession(ctx, newRefresh("rbob", "user:default/bob", "c1", t0), 3); err != nil {
			t.Fatal(err)
		}
		// Using rc1 makes rc2 the least recently used.
		if _, err := s.RotateRefreshSession(ctx, "rc1", identity.HashSecret("rc1-secret-0"), identity.HashSecret("rc1-1"), nil, t0.Add(time.Hour), t0.Add(time.Hour), idle); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRefreshSession(ctx, newRefresh("rc4", alice, "c4", t0.Add(2*time.Hour)), 3); err != nil {
			t.Fatal(err)
		}
		if got := present(ctx, s, "rc1", "rc2", "rc3", "rc4", "rbob"); !slices.Equal(got, []string{"rc1", "rc3", "rc4", "rbob"}) {
			t.Errorf("after the 4th client: %v; want rc2 (least recently used) evicted", got)
		}
		// A second session for the same user and client (another device)
		// is kept beside the first; only the cap evicts, least recently
		// used first (rc3, not rc1 whose rotation made it recent).
		if n, err := s.CreateRefreshSession(ctx, newRefresh("rc3b", alice, "c3", t0.Add(3*time.Hour)), 3); err != nil || n != 1 {
			t.Fatalf("CreateRefreshSession over the cap = %d, %v; want 1 evicted", n, err)
		}
		if got := present(ctx, s, "rc1", "rc3", "rc3b", "rc4", "rbob"); !slices.Equal(got, []string{"rc1", "rc3b", "rc4", "rbob"}) {
			t.Errorf("after re-issuing for c3: %v", got)
		}
		if n, err := s.CreateRefreshSession(ctx, newRefresh("rc4b", alice, "c4", t0.Add(4*time.Hour)), 0); err != nil || n != 0 {
			t.Fatalf("CreateRefreshSession without a cap = %d, %v; want 0 evicted", n, err)
		}
		if got := present(ctx, s, "rc4", "rc4b"); !slices.Equal(got, []string{"rc4", "rc4b"}) {
			t.Errorf("two sessions of one user and client: %v; want both", got)
		}
		if n, err := s.DeleteRefreshSessionsFor(ctx, alice, "c4"); err != nil || n != 2 {
			t.Errorf("DeleteRefreshSessionsFor = %d, %v; want 1", n, err)
		}
		if err := s.DeleteRefreshSession(ctx, "rc1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRefreshSession(ctx, "rc1"); err != nil {
			t.Errorf("deleting a missing session: %v", err)
		}
		if got := present(ctx, s, "rc1", "rc3b", "rc4", "rc4b", "rbob"); !slices.Equal(got, []string{"rc3b", "rbob"}) {
			t.Errorf("after deletions: %v", got)
		}
	})
}

func present(ctx context.Context, s identity.OAuthStore, ids ...string) []string {
	var out []string
	for _, id := range ids {
		if _, err := s.GetRefreshSession(ctx, id); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func sameClient(a, b identity.OAuthClient) bool {
	return a.ID == b.ID && a.SecretHash == b.SecretHash && a.Name == b.Name && slices.Equal(a.RedirectURIs, b.RedirectURIs) &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.ResponseTypes, b.ResponseTypes) && a.Scope == b.Scope &&
		a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) && a.LastUsed.Equal(b.LastUsed)
}

func sameSession(a, b identity.AuthSession) bool {
	ae, be := a.Expires, b.Expires
	a.Expires, b.Expires = time.Time{}, time.Time{}
	return a == b && ae.Equal(be)
}

func sameCode(a, b identity.AuthCode) bool {
	ae, be := a.Expires, b.Expires
	a.Expires, b.Expires = time.Time{}, time.Time{}
	return a == b && ae.Equal(be)
}

// samePrev reports whether r records the previous rotation given.
func samePrev(r identity.RefreshSession, hash string, answer []byte, until time.Time) bool {
	return r.PrevHash == hash && bytes.Equal(r.PrevAnswer, answer) && r.PrevUntil.Equal(until)
}

func sameRefresh(a, b identity.RefreshSession) bool {
	return a.ID == b.ID && a.UserEntityRef == b.UserEntityRef && a.ClientID == b.ClientID && a.Scope == b.Scope && a.Resource == b.Resource &&
		a.SecretHash == b.SecretHash && a.Created.Equal(b.Created) && a.LastUsed.Equal(b.LastUsed) &&
		a.IdleExpires.Equal(b.IdleExpires) && a.Expires.Equal(b.Expires)
}
