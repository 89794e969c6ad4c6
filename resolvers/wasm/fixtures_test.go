package wasm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// TestWATFixturesMatch: every committed .wasm under testdata/wat is what
// its .wat assembles to with wat2wasm, and every .wat has one, so the
// sandbox tests (which load the committed files and need no wabt) test
// the source that is reviewed. Regenerate with `make wasm-fixtures`.
func TestWATFixturesMatch(t *testing.T) {
	dir := filepath.Join(wasmtest.Root(), "resolvers/wasm/testdata/wat")
	wats, err := filepath.Glob(filepath.Join(dir, "*.wat"))
	if err != nil || len(wats) == 0 {
		t.Fatalf("no .wat fixtures in %s: %v", dir, err)
	}
	wasms, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
	for _, w := range wasms {
		if _, err := os.Stat(strings.TrimSuffix(w, ".wasm") + ".wat"); err != nil {
			t.Errorf("%s has no .wat source", filepath.Base(w))
		}
	}
	for _, wat := range wats {
		rel, _ := filepath.Rel(wasmtest.Root(), wat)
		committed, err := os.ReadFile(wasmtest.WAT(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := wasmtest.AssembleWAT(t, rel); !bytes.Equal(got, committed) {
			t.Errorf("%s: the committed .wasm (%d bytes) differs from what wat2wasm makes of the .wat (%d bytes): run `make wasm-fixtures`", rel, len(committed), len(got))
		}
	}
}
