package wasm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// TestPoolWarmsLazily: a pool starts with one instance and grows one at a
// time, in the background, when callers overlap, up to its size.
func TestPoolWarmsLazily(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	m, err := h.Load(context.Background(), ModuleConfig{Name: "static", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat"), MemoryPages: 16, PoolSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := m.cur.Load()
	live := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.live
	}
	if n := live(); n != 1 {
		t.Fatalf("after load: %d instances, want 1", n)
	}
	var held []*instance
	for i := range 3 {
		inst, err := p.acquire(context.Background(), 5*time.Second)
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		held = append(held, inst)
		if n := live(); n != i+1 {
			t.Fatalf("with %d callers: %d instances, want %d", i+1, n, i+1)
		}
	}
	if _, err := p.acquire(context.Background(), 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "no instance became free") {
		t.Fatalf("a fourth caller at size 3: %v", err)
	}
	if n := live(); n != 3 {
		t.Fatalf("the pool grew past its size: %d", n)
	}
	for _, inst := range held {
		p.release(inst)
	}
}

// TestOpenSetParallel: modules load concurrently; the broken ones are
// reported in name order at their key paths, the others serve.
func TestOpenSetParallel(t *testing.T) {
	static := wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat")
	var decls []Declared
	for _, name := range []string{"f", "e", "d", "c", "b", "a"} {
		decls = append(decls, Declared{KeyPath: "gatehouse.modules." + name, ModuleConfig: ModuleConfig{Name: name, Path: static, MemoryPages: 16}})
	}
	decls = append(decls,
		Declared{KeyPath: "gatehouse.modules.zz-init", ModuleConfig: ModuleConfig{Name: "zz-init", Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/initimport.wat"), MemoryPages: 16}},
		Declared{KeyPath: "gatehouse.modules.cc-gone", ModuleConfig: ModuleConfig{Name: "cc-gone", Path: filepath.Join(t.TempDir(), "gone.wasm")}},
	)
	s, err := OpenSet(context.Background(), decls, Config{})
	defer s.Close(context.Background())
	if err == nil {
		t.Fatal("no error for the broken modules")
	}
	msg := err.Error()
	gone, init := strings.Index(msg, "gatehouse.modules.cc-gone: reading module"), strings.Index(msg, "gatehouse.modules.zz-init: ")
	// zz-init fails in _initialize: one instance at load still proves it.
	if gone < 0 || init < 0 || gone > init || !strings.Contains(msg[init:], "_initialize") {
		t.Fatalf("problems not each at its key path in name order: %v", err)
	}
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, ok := s.Module(name); !ok {
			t.Errorf("module %s did not load", name)
		}
	}
	if _, ok := s.Module("zz-init"); ok {
		t.Error("the broken module is in the set")
	}
}
