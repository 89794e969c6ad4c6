package wasm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/resolvertest"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	wasmtest.Cleanup()
	os.Exit(code)
}

func newHost(t testing.TB) *wasm.Host {
	t.Helper()
	h, err := wasm.New(wasm.Config{CacheDir: wasmtest.CacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func load(t testing.TB, h *wasm.Host, cfg wasm.ModuleConfig) *wasm.Module {
	t.Helper()
	m, err := h.Load(context.Background(), cfg)
	if err != nil {
		t.Fatalf("loading %s: %v", cfg.Name, err)
	}
	t.Cleanup(m.Close)
	return m
}

func testCatalog(t testing.TB) catalog.Catalog {
	cat, err := catalog.NewFileCatalog(resolvertest.Entities())
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func resolveOnce(ctx context.Context, r resolvers.SignInResolver, email string) (*resolvers.SignInResult, error) {
	return r.Resolve(ctx, resolvers.SignInInput{ProviderID: "vcfsso", Profile: providers.Profile{Email: email}, Result: &providers.Result{}})
}

// TestConformance runs the resolver table against the built-ins and
// against a Go WebAssembly module implementing the same logic.
func TestConformance(t *testing.T) {
	t.Run("builtin", func(t *testing.T) {
		resolvertest.Run(t, func(t *testing.T, name string, options map[string]any, cat catalog.Catalog) (resolvers.SignInResolver, error) {
			return resolvers.BuiltinResolvers()[name](options, resolvers.Deps{Catalog: cat})
		})
	})
	t.Run("wasm-go", func(t *testing.T) {
		path := wasmtest.Go(t, "./resolvers/wasm/testdata/builtins")
		h := newHost(t)
		mods := map[string]*wasm.Module{}
		outer := t // modules live as long as the whole table
		resolvertest.Run(t, func(t *testing.T, name string, options map[string]any, cat catalog.Catalog) (resolvers.SignInResolver, error) {
			m, ok := mods[name]
			if !ok {
				m = load(outer, h, wasm.ModuleConfig{Name: name, Path: path, PoolSize: 1, Config: map[string]any{"resolver": name}})
				mods[name] = m
			}
			return m.ResolverFactory()(options, resolvers.Deps{Catalog: cat})
		})
	})
}

// TestChainMixed mixes WebAssembly and built-in resolvers in one chain:
// NotFound from a module falls through to the next step.
func TestChainMixed(t *testing.T) {
	h := newHost(t)
	nf := load(t, h, wasm.ModuleConfig{Name: "nobody", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/notfound.wat")})
	tpl := load(t, h, wasm.ModuleConfig{Name: "tpl", Path: wasmtest.Go(t, "./examples/wasm/template"), Config: map[string]any{"domain": "corp.example.com"}})
	factories := resolvers.BuiltinResolvers()
	factories["nobody"] = nf.ResolverFactory()
	factories["tpl"] = tpl.ResolverFactory()
	steps := []resolvers.Step{{Name: "nobody", Path: "r[0]"}, {Name: "tpl", Path: "r[1]"}, {Name: resolvers.EmailMatchingUserEntityProfileEmail, Path: "r[2]"}}
	chain, err := resolvers.NewChain(steps, factories, resolvers.Deps{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ email, ref, by string }{
		{"bob@corp.example.com", "user:default/bob", "tpl"},
		{"alice@example.com", "user:default/alice", resolvers.EmailMatchingUserEntityProfileEmail},
	} {
		res, err := resolveOnce(context.Background(), chain, c.email)
		if err != nil {
			t.Fatalf("%s: %v", c.email, err)
		}
		if res.UserEntityRef != c.ref || res.Resolver != c.by {
			t.Fatalf("%s: got %s by %s, want %s by %s", c.email, res.UserEntityRef, res.Resolver, c.ref, c.by)
		}
	}
	if _, err := resolveOnce(context.Background(), chain, "zed@example.com"); err == nil || !strings.Contains(err.Error(), "unable to resolve user identity") {
		t.Fatalf("all NotFound: got %v", err)
	}
	// Unknown module names are reported by the chain with the key path.
	_, err = resolvers.NewChain([]resolvers.Step{{Name: "nope", Path: "auth.providers.vcfsso.development.signIn.resolvers[0]"}}, factories, resolvers.Deps{})
	if err == nil || !strings.Contains(err.Error(), "Sign-in resolver 'nope' is not available") || !strings.Contains(err.Error(), "resolvers[0]") {
		t.Fatalf("unknown name: got %v", err)
	}
}

func TestTransformExample(t *testing.T) {
	h := newHost(t)
	m := load(t, h, wasm.ModuleConfig{Name: "normalize-email", Path: wasmtest.Go(t, "./examples/wasm/normalize-email")})
	if m.HasResolver() != true || m.HasTransform() != true {
		t.Fatalf("Go SDK modules export both entry points")
	}
	if _, err := m.ResolverFactory()(nil, resolvers.Deps{}); err == nil || !strings.Contains(err.Error(), "registers no sign-in resolver") {
		t.Fatalf("using a transform as a resolver: got %v", err)
	}
	tr, err := m.TransformFactory()(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.TransformFactory()(map[string]any{"x": 1}); err == nil || !strings.Contains(err.Error(), "does not accept options") {
		t.Fatalf("options: got %v", err)
	}
	p, err := tr.Transform(context.Background(), resolvers.TransformInput{ProviderID: "vcfsso", Profile: providers.Profile{Email: " Jane.Doe+CI@Example.COM", DisplayName: "Jane"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "jane.doe@example.com" || p.DisplayName != "Jane" {
		t.Fatalf("got %+v", p)
	}
	// In a Transforms list after a built-in.
	factories := resolvers.BuiltinTransforms()
	factories["normalize-email"] = m.TransformFactory()
	ts, err := resolvers.NewTransforms([]resolvers.Step{{Name: "vcfsso"}, {Name: "normalize-email"}}, "vcfsso", factories)
	if err != nil {
		t.Fatal(err)
	}
	p, err = ts.Apply(context.Background(), "vcfsso", &providers.Result{UserInfo: map[string]any{"acct": "Bob+x@Corp.Example.com", "name": "Bob"}})
	if err != nil || p.Email != "bob@corp.example.com" || p.DisplayName != "Bob" {
		t.Fatalf("got %+v %v", p, err)
	}
}

func TestUsernameExample(t *testing.T) {
	h := newHost(t)
	path := wasmtest.Go(t, "./examples/wasm/username-resolver")
	m := load(t, h, wasm.ModuleConfig{Name: "username", Path: path, Config: map[string]any{"domain": "example.com"}})
	r, err := m.ResolverFactory()(nil, resolvers.Deps{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	run := func(claims map[string]any) (*resolvers.SignInResult, error) {
		return r.Resolve(context.Background(), resolvers.SignInInput{ProviderID: "vcfsso", Result: &providers.Result{IDTokenClaims: claims}})
	}
	res, err := run(map[string]any{"acct": "Alice@example.com"})
	if err != nil || res.UserEntityRef != "user:default/alice" || !slices.Equal(res.OwnershipEntityRefs, []string{"user:default/alice", "group:default/team-a"}) {
		t.Fatalf("acct: got %+v %v", res, err)
	}
	if _, err := run(map[string]any{"acct": "alice@evil.com"}); autherr.NameOf(err) != autherr.NameNotAllowed {
		t.Fatalf("foreign domain: got %v", err)
	}
	if _, err := run(map[string]any{"acct": "zed@example.com"}); !autherr.IsNotFound(err) {
		t.Fatalf("unknown user: got %v", err)
	}
	if _, err := run(map[string]any{}); !autherr.IsNotFound(err) {
		t.Fatalf("no claim: got %v", err)
	}
}

// TestHostile: each hostile module fails with a clear error, the host
// keeps serving, and the next call (to it and to a good module) works.
func TestHostile(t *testing.T) {
	h := newHost(t)
	good := load(t, h, wasm.ModuleConfig{Name: "good", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat"), MemoryPages: 16})
	goodR, err := good.ResolverFactory()(nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file    string
		want    string
		timeout time.Duration
	}{
		{"loop", "timed out after 100ms", 100 * time.Millisecond},
		{"grow", "trapped", 0},
		{"trap", "trapped", 0},
		{"bigout", "over the 65536-byte output limit", 0},
		{"oob", "outside the guest's memory", 0},
		{"badstatus", "unknown status 7", 0},
		{"badjson", "invalid result", 0},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m := load(t, h, wasm.ModuleConfig{Name: c.file, Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/"+c.file+".wat"), MemoryPages: 16, Timeout: c.timeout, PoolSize: 1})
			r, err := m.ResolverFactory()(nil, resolvers.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				start := time.Now()
				_, err := resolveOnce(context.Background(), r, "a@b.c")
				took := time.Since(start)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
					t.Fatalf("call %d: got %v, want an error naming the module and %q", i, err, c.want)
				}
				if autherr.IsNotFound(err) {
					t.Fatalf("a hostile module must never fall through: %v", err)
				}
				// The error text proves the timeout fired; this only guards
				// against a call that is never stopped (a tighter bound
				// would time the machine, not the host, and flakes under load).
				if c.timeout > 0 && took > c.timeout+5*time.Second {
					t.Fatalf("stopped after %s, want within %s", took, c.timeout+5*time.Second)
				}
				res, err := resolveOnce(context.Background(), goodR, "a@b.c")
				if err != nil || res.UserEntityRef != "user:default/static" {
					t.Fatalf("good module after hostile call: %+v %v", res, err)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	h := newHost(t)
	static := wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat")
	cases := []struct {
		cfg  wasm.ModuleConfig
		want string
	}{
		{wasm.ModuleConfig{Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/nomarker.wat")}, `missing export "authplug_abi_v1"`},
		{wasm.ModuleConfig{Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/badsig.wat")}, `export "authplug_resolve" has signature (i64) -> (i32), want (i32) -> (i32)`},
		{wasm.ModuleConfig{Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/badimport.wat")}, "imports env.system, which the host does not offer"},
		{wasm.ModuleConfig{Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/badhostimport.wat")}, "imports authplug.http_get, which the host does not offer"},
		{wasm.ModuleConfig{Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/bigmem.wat"), MemoryPages: 16}, "not a valid WebAssembly module for this host"},
		{wasm.ModuleConfig{Path: static, SHA256: strings.Repeat("0", 64)}, "but the pin is 0000"},
		{wasm.ModuleConfig{Path: static, Kind: wasm.KindTransform}, `kind is "transform" but export "authplug_transform" is missing`},
		{wasm.ModuleConfig{Path: filepath.Join(t.TempDir(), "missing.wasm")}, "reading module"},
	}
	for i, c := range cases {
		c.cfg.Name = fmt.Sprintf("mod%d", i)
		_, err := h.Load(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.cfg.Name) {
			t.Errorf("%s: got %v, want an error naming the module and containing %q", filepath.Base(c.cfg.Path), err, c.want)
		}
	}
	// The right pin loads.
	m := load(t, h, wasm.ModuleConfig{Name: "pinned", Path: static})
	load(t, h, wasm.ModuleConfig{Name: "pinned2", Path: static, SHA256: m.Digest()})
	// A module without authplug_check refuses options.
	if _, err := m.ResolverFactory()(map[string]any{"x": true}, resolvers.Deps{}); err == nil || !strings.Contains(err.Error(), "does not accept options") {
		t.Fatalf("options on a module without %s: %v", wasm.ExportCheck, err)
	}
}

// TestConcurrent: 64 goroutines share one Go module's pool.
func TestConcurrent(t *testing.T) {
	h := newHost(t)
	m := load(t, h, wasm.ModuleConfig{Name: "builtins", Path: wasmtest.Go(t, "./resolvers/wasm/testdata/builtins"),
		Config: map[string]any{"resolver": resolvers.EmailLocalPartMatchingUserEntityName}, RecycleCalls: 40,
		// This test is about sharing and recycling instances, not speed:
		// 64 callers on a 2-core machine under -race can wait seconds for
		// one of GOMAXPROCS instances, so the per-call budget is generous.
		Timeout: 10 * time.Second})
	r, err := m.ResolverFactory()(map[string]any{"dangerouslyAllowSignInWithoutUserInCatalog": true}, resolvers.Deps{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := range 5 {
				name := fmt.Sprintf("u%d-%d", g, i)
				res, err := resolveOnce(context.Background(), r, name+"@example.com")
				if err != nil {
					errs <- err
					return
				}
				if res.UserEntityRef != "user:default/"+name {
					errs <- fmt.Errorf("goroutine %d: got %s, want user:default/%s", g, res.UserEntityRef, name)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReloadUnderLoad swaps a module's file while callers run: no call
// fails, and a broken file keeps the old version serving.
func TestReloadUnderLoad(t *testing.T) {
	h := newHost(t)
	a := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static.wat")
	b := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static_b.wat")
	path := filepath.Join(t.TempDir(), "m.wasm")
	write := func(data []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(a)
	m := load(t, h, wasm.ModuleConfig{Name: "swap", Path: path, MemoryPages: 16})
	r, err := m.ResolverFactory()(nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls int
	var failures []error
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := resolveOnce(context.Background(), r, "x@y.z")
				mu.Lock()
				calls++
				if err != nil {
					failures = append(failures, err)
				} else if res.UserEntityRef != "user:default/static" && res.UserEntityRef != "user:default/second" {
					failures = append(failures, fmt.Errorf("unexpected %s", res.UserEntityRef))
				}
				mu.Unlock()
			}
		})
	}
	for i := range 20 {
		if i%2 == 0 {
			write(b)
		} else {
			write(a)
		}
		if err := m.Reload(context.Background()); err != nil {
			t.Errorf("reload %d: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	write([]byte("not wasm"))
	if err := m.Reload(context.Background()); err == nil {
		t.Error("reloading a broken file succeeded")
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed during reloads, first: %v", len(failures), calls, failures[0])
	}
	res, err := resolveOnce(context.Background(), r, "x@y.z")
	if err != nil || res.UserEntityRef != "user:default/static" {
		t.Fatalf("after a failed reload the last good version serves: %+v %v", res, err)
	}
	t.Logf("%d calls across 20 reloads, none failed", calls)
}

func TestAssemblyScriptExample(t *testing.T) {
	h := newHost(t)
	m := load(t, h, wasm.ModuleConfig{Name: "catalog-groups", Path: wasmtest.AssemblyScript(t, "examples/wasm/catalog-groups-as/index.ts"), MemoryPages: 16})
	if m.HasTransform() {
		t.Fatal("the AssemblyScript example is only a resolver")
	}
	if _, err := m.TransformFactory()(nil); err == nil || !strings.Contains(err.Error(), "not a profile transform") {
		t.Fatalf("as a transform: %v", err)
	}
	r, err := m.ResolverFactory()(nil, resolvers.Deps{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	in := resolvers.SignInInput{ProviderID: "vcfsso", Profile: providers.Profile{Email: "ALICE@example.com"},
		Result: &providers.Result{UserInfo: map[string]any{"group_names": []any{"Platform", "team-a", "ops \"x\""}}}}
	res, err := r.Resolve(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"user:default/alice", "group:default/team-a", "group:default/platform", `group:default/ops "x"`}
	if res.UserEntityRef != "user:default/alice" || !slices.Equal(res.OwnershipEntityRefs, want) {
		t.Fatalf("got %s %q, want %q", res.UserEntityRef, res.OwnershipEntityRefs, want)
	}
	in.Profile.Email = "zed@example.com"
	if _, err := r.Resolve(context.Background(), in); !autherr.IsNotFound(err) || err.Error() != "User not found" {
		t.Fatalf("unknown user: %v", err)
	}
	in.Profile.Email = "dup@example.com"
	if _, err := r.Resolve(context.Background(), in); autherr.NameOf(err) != autherr.NameConflict {
		t.Fatalf("duplicate: %v", err)
	}
	in.Profile.Email = ""
	if _, err := r.Resolve(context.Background(), in); !autherr.IsNotFound(err) {
		t.Fatalf("no email: %v", err)
	}
}

// TestSetWatch: a Set from config reloads a module when its file changes,
// reports load problems at the module's key, and refuses built-in names.
func TestSetWatch(t *testing.T) {
	a := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static.wat")
	b := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static_b.wat")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(dir, "cache")
	decl := []wasm.Declared{{KeyPath: "gatehouse.modules.m", ModuleConfig: wasm.ModuleConfig{Name: "m", Path: path, MemoryPages: 16}}}
	set, err := wasm.OpenSet(context.Background(), decl, wasm.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close(context.Background())
	if _, err := os.Stat(cacheDir); err != nil {
		t.Fatalf("compilation cache dir: %v", err)
	}
	r, err := set.Resolvers(resolvers.BuiltinResolvers())["m"](nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go set.Watch(ctx, 20*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := resolveOnce(context.Background(), r, "x@y.z")
		if err != nil {
			t.Fatal(err)
		}
		if res.UserEntityRef == "user:default/second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed file was not picked up within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// SIGHUP's path: ReloadAll picks up a change without the watcher.
	cancel()
	time.Sleep(30 * time.Millisecond)
	if err := os.WriteFile(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := set.ReloadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res, err := resolveOnce(context.Background(), r, "x@y.z"); err != nil || res.UserEntityRef != "user:default/static" {
		t.Fatalf("after ReloadAll: %+v %v", res, err)
	}

	bad := []wasm.Declared{
		{KeyPath: "gatehouse.modules.gone", ModuleConfig: wasm.ModuleConfig{Name: "gone", Path: filepath.Join(dir, "gone.wasm")}},
		{KeyPath: "gatehouse.modules.emailMatchingUserEntityProfileEmail", ModuleConfig: wasm.ModuleConfig{Name: "emailMatchingUserEntityProfileEmail", Path: path}},
	}
	partial, err := wasm.OpenSet(context.Background(), bad, wasm.Config{})
	defer partial.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "gatehouse.modules.gone: reading module") || !strings.Contains(err.Error(), "built-in sign-in resolver") {
		t.Fatalf("got %v", err)
	}
	// Problems come in module-name order, whatever the declaration order,
	// each at its declaration's key path.
	if msg := err.Error(); strings.Index(msg, "gatehouse.modules.emailMatchingUserEntityProfileEmail: ") > strings.Index(msg, "gatehouse.modules.gone: ") {
		t.Errorf("problems not in name order: %v", err)
	}
}

// TestHostileGo: a std-Go guest that panics, spins or allocates past its
// memory limit fails the call with a clear error; the next call works.
func TestHostileGo(t *testing.T) {
	h := newHost(t)
	path := wasmtest.Go(t, "./resolvers/wasm/testdata/gohostile")
	ok := load(t, h, wasm.ModuleConfig{Name: "ok", Path: path, PoolSize: 1, Config: map[string]any{"mode": "ok"}})
	okR, err := ok.ResolverFactory()(nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode, want string
		timeout    time.Duration
	}{
		{"panic", "trapped", 0},
		{"loop", "timed out after 200ms", 200 * time.Millisecond},
		{"alloc", "trapped", 5 * time.Second},
	} {
		t.Run(c.mode, func(t *testing.T) {
			m := load(t, h, wasm.ModuleConfig{Name: "go-" + c.mode, Path: path, PoolSize: 1, Timeout: c.timeout, MemoryPages: 160, Config: map[string]any{"mode": c.mode}})
			r, err := m.ResolverFactory()(nil, resolvers.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = resolveOnce(context.Background(), r, "a@b.c")
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "do-not-log") {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			// As in TestHostile: the message proves the timeout fired; this
			// only catches a call that is never stopped.
			if took := time.Since(start); took > c.timeout+5*time.Second && c.mode == "loop" {
				t.Fatalf("stopped after %s", took)
			}
			res, err := resolveOnce(context.Background(), okR, "a@b.c")
			if err != nil || res.UserEntityRef != "user:default/ok" {
				t.Fatalf("next call: %+v %v", res, err)
			}
		})
	}
}

// TestSharedCompiledModule: two modules from one file share its compiled
// code; closing one leaves the other able to replace instances.
func TestSharedCompiledModule(t *testing.T) {
	h := newHost(t)
	path := wasmtest.WAT(t, "resolvers/wasm/testdata/wat/trap.wat")
	m1 := load(t, h, wasm.ModuleConfig{Name: "one", Path: path, MemoryPages: 16, PoolSize: 1})
	m2 := load(t, h, wasm.ModuleConfig{Name: "two", Path: path, MemoryPages: 16, PoolSize: 1})
	r, err := m2.ResolverFactory()(nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	m1.Close()
	time.Sleep(20 * time.Millisecond)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := resolveOnce(ctx, r, "a@b.c")
		cancel()
		if err == nil || !strings.Contains(err.Error(), "trapped") {
			t.Fatalf("call %d: got %v, want a trap (a replacement instance must be created)", i, err)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	met, err := wasm.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wasm.New(wasm.Config{Metrics: met})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	m := load(t, h, wasm.ModuleConfig{Name: "static", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat"), MemoryPages: 16, PoolSize: 1})
	r, err := m.ResolverFactory()(nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := resolveOnce(context.Background(), r, "a@b.c"); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
		if f.GetName() != "gatehouse_wasm_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["module"] == "static" && labels["outcome"] == "ok" && m.GetCounter().GetValue() != 3 {
				t.Fatalf("calls ok = %v, want 3", m.GetCounter().GetValue())
			}
		}
	}
	for _, name := range []string{"gatehouse_wasm_calls_total", "gatehouse_wasm_call_seconds", "gatehouse_wasm_pool_instances", "gatehouse_wasm_compile_seconds", "gatehouse_wasm_instantiate_seconds"} {
		if !seen[name] {
			t.Errorf("metric %s not gathered", name)
		}
	}
}

// TestConfigAndErrorNames: config_read hands the module its config; an
// error payload's name becomes the sign-in error's name, unknown names
// become plain Error.
func TestConfigAndErrorNames(t *testing.T) {
	h := newHost(t)
	path := wasmtest.WAT(t, "resolvers/wasm/testdata/wat/echoconfig.wat")
	for i, c := range []struct {
		conf     map[string]any
		name     string
		message  string
		notFound bool
	}{
		{map[string]any{"name": "NotAllowedError", "message": "from config"}, autherr.NameNotAllowed, "from config", false},
		{map[string]any{"name": "WeirdError", "message": "x\ny"}, autherr.NameError, "x y", false},
		{map[string]any{"name": "ConflictError"}, autherr.NameConflict, "sign-in resolver 'echo2' failed", false},
		{map[string]any{"name": "ConflictError", "message": "m", "extra": 1}, "", "invalid sign-in resolver message", false},
	} {
		m := load(t, h, wasm.ModuleConfig{Name: fmt.Sprintf("echo%d", i), Path: path, MemoryPages: 16, PoolSize: 1, Config: c.conf})
		r, err := m.ResolverFactory()(nil, resolvers.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = resolveOnce(context.Background(), r, "a@b.c")
		if err == nil || !strings.Contains(err.Error(), c.message) || (c.name != "" && autherr.NameOf(err) != c.name) {
			t.Errorf("%v: got %s %v, want %s %q", c.conf, autherr.NameOf(err), err, c.name, c.message)
		}
	}
}

// TestCatalogRetry: a catalog answer larger than the guest's first buffer
// is fetched again with the size the host reported (Go and AssemblyScript SDKs).
func TestCatalogRetry(t *testing.T) {
	big := catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: catalog.Metadata{Name: "big",
		Annotations: map[string]string{"example.com/blob": strings.Repeat("x", 10000)}},
		Spec: map[string]any{"profile": map[string]any{"email": "big@corp.example.com"}}}
	cat, err := catalog.NewFileCatalog([]catalog.Entity{big})
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t)
	guests := map[string]wasm.ModuleConfig{
		"go": {Name: "tpl", Path: wasmtest.Go(t, "./examples/wasm/template"), PoolSize: 1, Config: map[string]any{"domain": "corp.example.com"}},
	}
	// Without asc only the Go guest runs, unless CI requires Node.js (then
	// AssemblyScript fails the test through testenv.Missing).
	if _, err := os.Stat(filepath.Join(wasmtest.Root(), "wasm-sdk/assemblyscript/node_modules/.bin/asc")); err == nil || testenv.Required(testenv.Node) {
		guests["assemblyscript"] = wasm.ModuleConfig{Name: "cg", Path: wasmtest.AssemblyScript(t, "examples/wasm/catalog-groups-as/index.ts"), PoolSize: 1, MemoryPages: 16}
	}
	for name, cfg := range guests {
		m := load(t, h, cfg)
		r, err := m.ResolverFactory()(nil, resolvers.Deps{Catalog: cat})
		if err != nil {
			t.Fatal(err)
		}
		res, err := resolveOnce(context.Background(), r, "big@corp.example.com")
		if err != nil || res.UserEntityRef != "user:default/big" {
			t.Errorf("%s: got %+v %v", name, res, err)
		}
	}
}

// TestStrictOutput: guest output is decoded strictly. Keys match exactly
// (a lower-cased or upper-cased entityRef is unknown), a key appears once,
// and the text is valid UTF-8; anything else fails the sign-in, naming
// the module and what was wrong, and never signs anyone in.
func TestStrictOutput(t *testing.T) {
	h := newHost(t)
	for _, c := range []struct{ file, want string }{
		{"out_casefold", `unknown key "entityref"`},
		{"out_casedup", `unknown key "ENTITYREF"`},
		{"out_dupkey", `duplicate key "entityRef"`},
		{"out_badutf8", "not valid UTF-8"},
	} {
		t.Run(c.file, func(t *testing.T) {
			m := load(t, h, wasm.ModuleConfig{Name: c.file, Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/"+c.file+".wat"), MemoryPages: 16, PoolSize: 1})
			r, err := m.ResolverFactory()(nil, resolvers.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := resolveOnce(context.Background(), r, "a@b.c")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("got %+v %v, want an error naming the module and %q", res, err, c.want)
			}
		})
	}
}

// TestCheckErrorsNameTheModule: a start-up error from authplug_check is
// prefixed with the module's config key, so a guest cannot make it look
// like another module's; an answer with a duplicate key is refused; a
// host function called from _initialize is reported as such.
func TestCheckErrorsNameTheModule(t *testing.T) {
	h := newHost(t)
	m := load(t, h, wasm.ModuleConfig{Name: "dup", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/check_dupkey.wat"), MemoryPages: 16, PoolSize: 1})
	_, err := m.ResolverFactory()(nil, resolvers.Deps{})
	if err == nil || !strings.HasPrefix(err.Error(), "gatehouse.modules.dup: ") || !strings.Contains(err.Error(), `duplicate key "message"`) {
		t.Fatalf("got %v, want an error starting with gatehouse.modules.dup: and naming the duplicate key", err)
	}
	blame := load(t, h, wasm.ModuleConfig{Name: "blame", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/check_blame.wat"), MemoryPages: 16, PoolSize: 1})
	_, err = blame.ResolverFactory()(map[string]any{"x": 1}, resolvers.Deps{})
	if err == nil || !strings.HasPrefix(err.Error(), "gatehouse.modules.blame: ") || !strings.Contains(err.Error(), "option x is wrong") {
		t.Fatalf("got %v, want an error starting with gatehouse.modules.blame: and carrying the guest's message", err)
	}
	static := load(t, h, wasm.ModuleConfig{Name: "static", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat"), MemoryPages: 16, PoolSize: 1})
	_, err = static.ResolverFactory()(map[string]any{"x": 1}, resolvers.Deps{})
	if err == nil || !strings.HasPrefix(err.Error(), "gatehouse.modules.static: ") {
		t.Fatalf("got %v, want an error starting with gatehouse.modules.static:", err)
	}
	_, err = h.Load(context.Background(), wasm.ModuleConfig{Name: "init", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/initimport.wat"), MemoryPages: 16, PoolSize: 1})
	if err == nil || strings.Contains(err.Error(), "0x") || !strings.Contains(err.Error(), "_initialize called authplug.input_read") {
		t.Fatalf("got %v, want an error saying _initialize called authplug.input_read", err)
	}
}
