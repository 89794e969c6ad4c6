package main

import (
	"strings"
	"testing"
)

// TestSessionsRevokeAndList: revoke records an operator logout in the
// database, list shows it, and bad flags are refused before the database
// is opened.
func TestSessionsRevokeAndList(t *testing.T) {
	cfg := sqliteConfig(t)
	if code, out, errs := gatehouse(t, "sessions", "list", "--config", cfg); code != 0 || !strings.Contains(out, "no session-end records") {
		t.Fatalf("list on a new database: %d %q %q", code, out, errs)
	}
	code, out, errs := gatehouse(t, "sessions", "revoke", "--config", cfg, "--user", "user:default/alice")
	if code != 0 || !strings.Contains(out, "ended the sessions of user:default/alice (every provider)") {
		t.Fatalf("revoke: %d %q %q", code, out, errs)
	}
	if code, _, errs := gatehouse(t, "sessions", "revoke", "--config", cfg, "--user", "user:default/bob"); code != 0 {
		t.Fatalf("revoke bob: %d %q", code, errs)
	}
	code, out, errs = gatehouse(t, "sessions", "list", "--config", cfg, "--user", "user:default/alice")
	if code != 0 || !strings.Contains(out, "operator") || !strings.Contains(out, "user:default/alice") || strings.Contains(out, "bob") {
		t.Fatalf("list alice: %d %q %q", code, out, errs)
	}
	if code, out, _ := gatehouse(t, "sessions", "list", "--config", cfg); code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("list all: %d %q; want a header and two records", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sessions", "revoke", "--config", cfg}, "--user is required"},
		{[]string{"sessions", "revoke", "--config", cfg, "--user", "alice"}, "not an entity ref"},
		{[]string{"sessions", "revoke", "--config", cfg, "--user", "user:default/alice", "--provider", "nope"}, `--provider "nope" is not in auth.providers`},
		{[]string{"sessions", "frobnicate"}, "unknown subcommand"},
		{[]string{"sessions"}, "Usage:"},
	} {
		if code, _, errs := gatehouse(t, tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
