// Package wasmtest provides WebAssembly guest modules for tests and
// benchmarks: Go guests built with the Go toolchain, AssemblyScript built
// with asc (each built once per test binary run, into one temporary
// directory removed by Cleanup), and WAT fixtures as their committed .wasm.
package wasmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]*result{}
)

type result struct {
	once sync.Once
	path string
	err  string
	skip string
}

// Root is the repository root (where go.mod is).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func outDir() string {
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "gatehouse-wasmtest-")
		if err != nil {
			panic(err)
		}
		dir = d
	}
	return dir
}

// Cleanup removes the built modules; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir = ""
	}
}

func get(key string, build func(out string) (skip, err string)) *result {
	mu.Lock()
	r, ok := built[key]
	if !ok {
		r = &result{}
		built[key] = r
	}
	mu.Unlock()
	r.once.Do(func() {
		name := strings.NewReplacer("/", "_", ".", "_").Replace(key) + ".wasm"
		r.path = filepath.Join(outDir(), name)
		r.skip, r.err = build(r.path)
	})
	return r
}

func finish(tb testing.TB, r *result) string {
	tb.Helper()
	if r.skip != "" {
		// Only the AssemblyScript compiler (npm, so Node.js) can be missing.
		testenv.Missing(tb, testenv.Node, r.skip)
	}
	if r.err != "" {
		tb.Fatal(r.err)
	}
	return r.path
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Go builds the Go guest package at pkg (relative to the repository root,
// e.g. "./examples/wasm/template") with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared and returns the .wasm path.
func Go(tb testing.TB, pkg string) string {
	tb.Helper()
	return finish(tb, get("go:"+pkg, func(out string) (string, string) {
		cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", out, pkg)
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "building " + pkg + " for wasip1: " + err.Error() + "\n" + string(b)
		}
		return "", ""
	}))
}

// WAT returns the committed .wasm beside a .wat fixture (path relative to
// the repository root, e.g. "resolvers/wasm/testdata/wat/static.wat"), so
// tests never need wabt. The test fails when the .wasm is missing:
// regenerate the fixtures with `make wasm-fixtures`. CheckWAT proves each
// committed file is what its .wat assembles to.
func WAT(tb testing.TB, file string) string {
	tb.Helper()
	p := filepath.Join(Root(), strings.TrimSuffix(file, ".wat")+".wasm")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s has no committed .wasm (run `make wasm-fixtures`): %v", file, err)
	}
	return p
}

// AssembleWAT assembles a .wat file (relative to the repository root) with
// wabt's wat2wasm and returns the bytes. When wat2wasm is not installed it
// ends the test through testenv.Missing(testenv.Wabt): a skip on a
// developer's machine, a failure when GATEHOUSE_REQUIRE names wabt.
func AssembleWAT(tb testing.TB, file string) []byte {
	tb.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		testenv.Missing(tb, testenv.Wabt, "wat2wasm not found: install Debian's wabt (apt-get install -y wabt)")
	}
	out := filepath.Join(tb.TempDir(), "out.wasm")
	cmd := exec.Command(tool, filepath.Join(Root(), file), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm %s: %v\n%s", file, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// AssemblyScript compiles an AssemblyScript entry file (relative to the
// repository root) with the asc of wasm-sdk/assemblyscript/node_modules
// (make as-sdk installs it). When it is not installed the test ends through
// testenv.Missing(testenv.Node): a skip on a developer's machine, a failure
// when GATEHOUSE_REQUIRE names node (as CI does).
func AssemblyScript(tb testing.TB, entry string) string {
	tb.Helper()
	return finish(tb, get("as:"+entry, func(out string) (string, string) {
		asc := filepath.Join(Root(), "wasm-sdk", "assemblyscript", "node_modules", ".bin", "asc")
		if _, err := os.Stat(asc); err != nil {
			return "AssemblyScript compiler not installed: run `make as-sdk` (npm install in wasm-sdk/assemblyscript; .ci/run does)", ""
		}
		cmd := exec.Command(asc, filepath.Join(Root(), entry), "-O3", "--runtime", "incremental", "--use", "abort=", "-o", out)
		cmd.Dir = filepath.Join(Root(), "wasm-sdk", "assemblyscript")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "asc " + entry + ": " + err.Error() + "\n" + string(b)
		}
		return "", ""
	}))
}

// CacheDir is a compilation cache directory shared by the tests of one
// binary run, so each module is compiled once (compiling a std-Go guest
// takes seconds, much longer under -race).
func CacheDir() string { return filepath.Join(outDir(), "cache") }

// WATBytes is the module WAT names, read: for a test that writes it where
// a config points, or rewrites it to see a reload.
func WATBytes(tb testing.TB, file string) []byte {
	tb.Helper()
	b, err := os.ReadFile(WAT(tb, file))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
