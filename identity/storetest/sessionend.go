package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// RunSessionEndStore runs the session-end store cases. open must return an
// empty store.
func RunSessionEndStore(t *testing.T, open func(t *testing.T) identity.SessionEndStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	alice := identity.Session{Provider: "vcfsso", Sub: "alice-sub", SID: "sid-1", UserEntityRef: "user:default/alice", Started: t0}
	bob := identity.Session{Provider: "vcfsso", Sub: "bob-sub", SID: "sid-2", UserEntityRef: "user:default/bob", Started: t0}

	ended := func(t *testing.T, s identity.SessionEndStore, sess identity.Session) bool {
		t.Helper()
		ok, err := s.Ended(ctx, sess)
		if err != nil {
			t.Fatalf("Ended: %v", err)
		}
		return ok
	}

	t.Run("EmptyEndsNothing", func(t *testing.T) {
		s := open(t)
		if ended(t, s, alice) {
			t.Error("a new store ended a session")
		}
		if l, err := s.List(ctx, identity.SessionEndFilter{}); err != nil || len(l) != 0 {
			t.Errorf("List = %v, %v; want empty", l, err)
		}
	})

	t.Run("BySubBeforeOnly", func(t *testing.T) {
		s := open(t)
		if err := s.EndSessions(ctx, identity.SessionEnd{Provider: "vcfsso", Sub: "alice-sub", Before: t0.Add(time.Minute), Reason: identity.ReasonBackchannelLogout, Source: "https://idp"}); err != nil {
			t.Fatal(err)
		}
		if !ended(t, s, alice) {
			t.Error("alice's session that started before the record is not ended")
		}
		later := alice
		later.Started = t0.Add(2 * time.Minute)
		if ended(t, s, later) {
			t.Error("a session that started after the record is ended")
		}
		if ended(t, s, bob) {
			t.Error("bob's session is ended by alice's record")
		}
		other := alice
		other.Provider = "oidc"
		if ended(t, s, other) {
			t.Error("a record for vcfsso ended an oidc session")
		}
		old := alice
		old.Started = time.Time{}
		if !ended(t, s, old) {
			t.Error("a session without a start time (signed in before session cookies) is not ended")
		}
	})

	t.Run("BySIDAndSub", func(t *testing.T) {
		s := open(t)
		if err := s.EndSessions(ctx, identity.SessionEnd{Provider: "vcfsso", Sub: "alice-sub", SID: "sid-1", Before: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if !ended(t, s, alice) {
			t.Error("the session with that sid is not ended")
		}
		otherTab := alice
		otherTab.SID = "sid-9"
		if ended(t, s, otherTab) {
			t.Error("alice's session with another sid is ended")
		}
	})

	t.Run("ByEntityRefAllProviders", func(t *testing.T) {
		s := open(t)
		if err := s.EndSessions(ctx, identity.SessionEnd{UserEntityRef: "user:default/Alice", Before: t0.Add(time.Minute), Reason: identity.ReasonOperator, Source: "gatehouse sessions revoke"}); err != nil {
			t.Fatal(err)
		}
		other := alice
		other.Provider = "oidc"
		if !ended(t, s, alice) || !ended(t, s, other) {
			t.Error("an operator record for every provider did not end alice's sessions (entity refs compare case-insensitively)")
		}
		if ended(t, s, bob) {
			t.Error("bob's session is ended")
		}
	})

	t.Run("RefusesEmptyRecord", func(t *testing.T) {
		s := open(t)
		err := s.EndSessions(ctx, identity.SessionEnd{Provider: "vcfsso", Before: t0})
		if !autherr.Is(err, autherr.NameInput) {
			t.Errorf("a record naming no one: %v, want an InputError", err)
		}
		if err := s.EndSessions(ctx, identity.SessionEnd{Sub: "x"}); !autherr.Is(err, autherr.NameInput) {
			t.Errorf("a record without Before: %v, want an InputError", err)
		}
		if ended(t, s, alice) {
			t.Error("a refused record was stored")
		}
	})

	t.Run("ListFiltersAndOrders", func(t *testing.T) {
		s := open(t)
		recs := []identity.SessionEnd{
			{UserEntityRef: "user:default/alice", Before: t0.Add(2 * time.Minute), Reason: identity.ReasonOperator, Source: "op"},
			{Provider: "vcfsso", Sub: "alice-sub", SID: "sid-1", UserEntityRef: "user:default/alice", Before: t0.Add(time.Minute), Reason: identity.ReasonBackchannelLogout, Source: "https://idp"},
			{Provider: "vcfsso", Sub: "bob-sub", Before: t0, Reason: identity.ReasonBackchannelLogout},
		}
		for _, r := range recs {
			if err := s.EndSessions(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		l, err := s.List(ctx, identity.SessionEndFilter{UserEntityRef: "user:default/alice"})
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 2 || !l[0].Before.Equal(recs[1].Before) || !l[1].Before.Equal(recs[0].Before) {
			t.Fatalf("List(alice) = %+v; want the two alice records, oldest Before first", l)
		}
		got := l[0]
		if got.Provider != "vcfsso" || got.Sub != "alice-sub" || got.SID != "sid-1" || got.Reason != identity.ReasonBackchannelLogout || got.Source != "https://idp" {
			t.Errorf("List(alice)[0] = %+v, want %+v", got, recs[1])
		}
		if l, err := s.List(ctx, identity.SessionEndFilter{Sub: "bob-sub"}); err != nil || len(l) != 1 || l[0].Sub != "bob-sub" {
			t.Errorf("List(sub bob) = %+v, %v", l, err)
		}
		if l, err := s.List(ctx, identity.SessionEndFilter{}); err != nil || len(l) != 3 {
			t.Errorf("List(all) = %d records, %v; want 3", len(l), err)
		}
	})
}
