// Package wasmtest builds WebAssembly guest modules from source for tests
// and benchmarks: Go guests with the Go toolchain, WAT with wabt's
// wat2wasm, AssemblyScript with asc. Each module is built once per test
// binary run, into one temporary directory removed by Cleanup.
package wasmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
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
		tb.Skip(r.skip)
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

// WAT assembles a .wat file (relative to the repository root) with
// wat2wasm; the test skips when wat2wasm is not installed (.ci/run
// installs Debian's wabt).
func WAT(tb testing.TB, file string) string {
	tb.Helper()
	return finish(tb, get("wat:"+file, func(out string) (string, string) {
		tool, err := exec.LookPath("wat2wasm")
		if err != nil {
			return "wat2wasm not found: install Debian's wabt (apt-get install -y wabt; .ci/run does) to run this test", ""
		}
		cmd := exec.Command(tool, filepath.Join(Root(), file), "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "wat2wasm " + file + ": " + err.Error() + "\n" + string(b)
		}
		return "", ""
	}))
}

// AssemblyScript compiles an AssemblyScript entry file (relative to the
// repository root) with the asc of wasm-sdk/assemblyscript/node_modules
// (make as-sdk installs it); the test skips when it is not installed.
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
