package wasm

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/resolvertest"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// Guests measured by the benchmarks: the same resolver logic as the
// built-in emailLocalPartMatchingUserEntityName in Go, a catalog lookup
// plus claim parsing in AssemblyScript, and a static answer in WAT.
var benchGuests = []struct {
	name  string
	path  func(testing.TB) string
	pages uint32
	conf  map[string]any
}{
	{"go", func(tb testing.TB) string { return wasmtest.Go(tb, "./resolvers/wasm/testdata/builtins") }, 256,
		map[string]any{"resolver": resolvers.EmailLocalPartMatchingUserEntityName}},
	{"assemblyscript", func(tb testing.TB) string {
		return wasmtest.AssemblyScript(tb, "examples/wasm/catalog-groups-as/index.ts")
	}, 16, nil},
	{"wat", func(tb testing.TB) string { return wasmtest.WAT(tb, "resolvers/wasm/testdata/wat/static.wat") }, 16, nil},
}

func benchCatalog(tb testing.TB) catalog.Catalog {
	cat, err := catalog.NewFileCatalog(resolvertest.Entities())
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

var benchInput = resolvers.SignInInput{ProviderID: "vcfsso",
	Profile: providers.Profile{Email: "alice@example.com", DisplayName: "Alice Example"},
	Result: &providers.Result{
		IDTokenClaims: map[string]any{"sub": "123456", "acct": "alice@example.com", "user_name": "alice", "name": "Alice Example"},
		UserInfo:      map[string]any{"acct": "alice@example.com", "group_names": []any{"team-a", "platform"}},
	}}

// timedLoop runs f b.N times and reports p50 and p99 in µs.
func timedLoop(b *testing.B, f func() error) {
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(ds)
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs/op")
		b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs/op")
	}
}

// BenchmarkResolve is one sign-in resolution per op through the pool,
// with the per-call timeout and WithCloseOnContextDone on, against the
// same logic as a native built-in.
func BenchmarkResolve(b *testing.B) {
	cat := benchCatalog(b)
	b.Run("native-builtin", func(b *testing.B) {
		r, err := resolvers.BuiltinResolvers()[resolvers.EmailLocalPartMatchingUserEntityName](nil, resolvers.Deps{Catalog: cat})
		if err != nil {
			b.Fatal(err)
		}
		timedLoop(b, func() error { _, err := r.Resolve(context.Background(), benchInput); return err })
	})
	for _, g := range benchGuests {
		b.Run(g.name, func(b *testing.B) {
			h, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			m, err := h.Load(context.Background(), ModuleConfig{Name: g.name, Path: g.path(b), MemoryPages: g.pages, Config: g.conf, PoolSize: 1})
			if err != nil {
				b.Fatal(err)
			}
			r, err := m.ResolverFactory()(nil, resolvers.Deps{Catalog: cat})
			if err != nil {
				b.Fatal(err)
			}
			timedLoop(b, func() error { _, err := r.Resolve(context.Background(), benchInput); return err })
		})
	}
}

// BenchmarkInstantiate is one pool instance per op (off the request path
// in production). heap-KiB/op and linear-KiB/op are the Go heap and the
// guest's linear memory that one live instance holds.
func BenchmarkInstantiate(b *testing.B) {
	for _, g := range benchGuests {
		b.Run(g.name, func(b *testing.B) {
			h, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			cfg := ModuleConfig{Name: g.name, Path: g.path(b), MemoryPages: g.pages, PoolSize: 1}
			m, err := h.Load(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			p := m.cur.Load()
			const live = 4
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			insts := make([]*instance, 0, live)
			for range live {
				inst, err := p.instantiate(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				insts = append(insts, inst)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			linear := insts[0].mod.Memory().Size()
			for _, inst := range insts {
				inst.mod.Close(context.Background())
			}
			timedLoop(b, func() error {
				inst, err := p.instantiate(context.Background())
				if err != nil {
					return err
				}
				return inst.mod.Close(context.Background())
			})
			b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/live/1024, "heap-KiB/op")
			b.ReportMetric(float64(linear)/1024, "linear-KiB/op")
		})
	}
}

// BenchmarkCompile compiles a module in a fresh runtime per op: cold (no
// cache) and from the file compilation cache, as at a restart.
// wasm-KiB/op is the module's size.
func BenchmarkCompile(b *testing.B) {
	for _, g := range benchGuests[:2] {
		for _, cached := range []bool{false, true} {
			name := g.name + "/cold"
			if cached {
				name = g.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				path := g.path(b)
				data, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				cfg := ModuleConfig{Name: g.name, Path: path, MemoryPages: g.pages}
				compile := func(cacheDir string) error {
					h, err := New(Config{CacheDir: cacheDir})
					if err != nil {
						return err
					}
					defer h.Close(context.Background())
					_, err = h.compile(context.Background(), cfg, data, "")
					return err
				}
				if cached {
					if err := compile(dir); err != nil {
						b.Fatal(err)
					}
				}
				i := 0
				timedLoop(b, func() error {
					i++
					if cached {
						return compile(dir)
					}
					return compile(filepath.Join(dir, "cold", string(rune('a'+i%26)), time.Now().Format("150405.000000000")))
				})
				b.ReportMetric(float64(len(data))/1024, "wasm-KiB/op")
			})
		}
	}
}

// fiveStdGo are five distinct std-Go guests (distinct files, so nothing
// is shared between them), declared as a config would.
func fiveStdGo(tb testing.TB) []Declared {
	pkgs := []struct{ name, pkg string }{
		{"builtins", "./resolvers/wasm/testdata/builtins"},
		{"gohostile", "./resolvers/wasm/testdata/gohostile"},
		{"template", "./examples/wasm/template"},
		{"username", "./examples/wasm/username-resolver"},
		{"normalize", "./examples/wasm/normalize-email"},
	}
	out := make([]Declared, len(pkgs))
	for i, p := range pkgs {
		out[i] = Declared{KeyPath: "gatehouse.modules." + p.name, ModuleConfig: ModuleConfig{Name: p.name, Path: wasmtest.Go(tb, p.pkg)}}
	}
	return out
}

// BenchmarkServeStartup is what `gatehouse serve` spends on its modules
// before it listens: OpenSet of five std-Go modules (default pool size)
// on a fresh Host whose compilation cache directory is already warm, as
// at a restart. Closing the set is not timed. p50-ms/op is wall clock;
// cpu-ms/op is the process's CPU time per op, which other load on a
// shared machine does not inflate (wall clock is about cpu-ms/op divided
// by the cores when they are free).
func BenchmarkServeStartup(b *testing.B) {
	b.Run("five-std-go-warm", func(b *testing.B) {
		decls := fiveStdGo(b)
		dir := b.TempDir()
		open := func() (*Set, error) { return OpenSet(context.Background(), decls, Config{CacheDir: dir}) }
		s, err := open()
		if err != nil {
			b.Fatal(err)
		}
		s.Close(context.Background())
		ds := make([]time.Duration, 0, b.N)
		var cpu time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			start, startCPU := time.Now(), processCPU()
			s, err := open()
			ds = append(ds, time.Since(start))
			cpu += processCPU() - startCPU
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			s.Close(context.Background())
			b.StartTimer()
		}
		b.StopTimer()
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e6, "p50-ms/op")
		b.ReportMetric(float64(cpu.Nanoseconds())/1e6/float64(len(ds)), "cpu-ms/op")
	})
}
