// Package testenv decides what a test does when something outside Go that
// it needs (PostgreSQL, Chromium, Node.js and npm packages) is missing: on a
// developer's machine it skips with a message saying how to get it; when
// GATEHOUSE_REQUIRE names it (as .ci/run sets it) the test fails instead, so
// CI never passes by skipping.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// EnvRequire is the variable listing the dependencies that must be present:
// a comma-separated list of names (postgres, chromium, node, wabt) or "all".
const EnvRequire = "GATEHOUSE_REQUIRE"

// Dependencies a test can miss.
const (
	Postgres = "postgres"
	Chromium = "chromium"
	Node     = "node"
	// Wabt is WebAssembly's binary toolkit (wat2wasm), Debian package wabt.
	Wabt = "wabt"
)

// Required reports whether GATEHOUSE_REQUIRE names dep (or "all").
func Required(dep string) bool {
	for _, d := range strings.Split(os.Getenv(EnvRequire), ",") {
		d = strings.TrimSpace(d)
		if d == dep || d == "all" {
			return true
		}
	}
	return false
}

// Missing ends tb because dep is not available: a failure when dep is
// required, a skip otherwise. why says what is missing and how to get it.
func Missing(tb testing.TB, dep, why string) {
	tb.Helper()
	if Required(dep) {
		tb.Fatalf("%s is required (%s=%s) but missing: %s", dep, EnvRequire, os.Getenv(EnvRequire), why)
	}
	// "dep: why" is the reason make test's skip summary groups by.
	tb.Skipf("%s: %s", dep, why)
}
