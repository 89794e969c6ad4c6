package sqlstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock records when each connection attempt happens: now() is a fake
// time that only sleep moves forward, by the wait asked plus overshoot
// (a real sleep wakes late).
type fakeClock struct {
	t         time.Time
	overshoot time.Duration
	slept     []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d + c.overshoot)
	return nil
}

// TestStartupRetriesUntilTheDeadline: against a closed port, Open's retry
// keeps trying until backend.database.startupTimeout has passed, the last
// wait cut so that the final attempt happens at the deadline, and the
// error gives the time really spent.
func TestStartupRetriesUntilTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		timeout, overshoot time.Duration
		wantSleeps         []time.Duration
		wantMsg            string
	}{
		{
			timeout:    3 * time.Second,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 1250 * time.Millisecond},
			wantMsg:    "after 5 attempt(s) in 3s",
		},
		{
			timeout: 30 * time.Second,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
				4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 2250 * time.Millisecond},
			wantMsg: "after 11 attempt(s) in 30s",
		},
		{
			// Sleeps that wake 30 ms late: the final wait is what is left,
			// and the message says how long it really took.
			timeout:    3 * time.Second,
			overshoot:  30 * time.Millisecond,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 1160 * time.Millisecond},
			wantMsg:    "after 5 attempt(s) in 3.03s",
		},
		{
			timeout: 0,
			wantMsg: "after 1 attempt(s) in 0s",
		},
	} {
		t.Run(tc.timeout.String(), func(t *testing.T) {
			// Nothing listens on 127.0.0.1:1: each attempt fails at once.
			cfg := Config{Client: ClientPostgres, Connection: "postgres://gh@127.0.0.1:1/gatehouse_db?connect_timeout=1", StartupTimeout: tc.timeout}
			db, err := open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0), overshoot: tc.overshoot}
			start := clk.t
			err = db.waitReady(context.Background(), cfg, clk.now, clk.sleep)
			if err == nil {
				t.Fatal("waitReady succeeded against a closed port")
			}
			if !slices.Equal(clk.slept, tc.wantSleeps) {
				t.Errorf("waits between attempts = %v, want %v", clk.slept, tc.wantSleeps)
			}
			if end := clk.t.Sub(start); end < tc.timeout || end > tc.timeout+tc.overshoot {
				t.Errorf("final attempt at %v, want at the deadline %v", end, tc.timeout)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), "127.0.0.1:1") {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}
