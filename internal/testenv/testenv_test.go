package testenv

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records whether Missing skipped or failed.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		require          string
		wantSkip, wantFa string
	}{
		{"", "postgres: no server", ""},
		{"chromium,node", "postgres: no server", ""},
		{"chromium, postgres", "", "postgres is required (GATEHOUSE_REQUIRE=chromium, postgres) but missing: no server"},
		{"all", "", "postgres is required (GATEHOUSE_REQUIRE=all) but missing: no server"},
	} {
		t.Setenv(EnvRequire, tc.require)
		r := &recorder{}
		// Skipf and Fatalf return here (the real ones stop the test), so
		// Missing may call both; only the first call counts.
		Missing(r, Postgres, "no server")
		if tc.wantFa != "" {
			if r.failed != tc.wantFa {
				t.Errorf("%s=%q: failed with %q, want %q", EnvRequire, tc.require, r.failed, tc.wantFa)
			}
			continue
		}
		if r.failed != "" || r.skipped != tc.wantSkip {
			t.Errorf("%s=%q: skipped %q, failed %q; want skip %q", EnvRequire, tc.require, r.skipped, r.failed, tc.wantSkip)
		}
	}
}
