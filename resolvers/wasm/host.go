// Package wasm runs sign-in resolvers and profile transforms compiled to
// WebAssembly (ABI "authplug v1", wasm-sdk/ABI.md) in wazero.
//
// A Host owns the wazero runtimes and the compilation cache. Each loaded
// Module keeps one compiled module per file digest and a bounded pool of
// warm instances: an instance serves one call at a time, is discarded after
// any error and recycled after a number of calls or above a memory mark.
// Guests get no filesystem, environment, arguments or network; their
// stderr and log lines go to a capped logger tagged with the module name.
package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABI names (wasm-sdk/ABI.md).
const (
	ExportMarker    = "authplug_abi_v1"
	ExportResolve   = "authplug_resolve"
	ExportTransform = "authplug_transform"
	ExportCheck     = "authplug_check"
	ExportInit      = "_initialize"
	ImportModule    = "authplug"
	wasiModule      = wasi_snapshot_preview1.ModuleName
)

// Status codes returned by authplug_resolve, authplug_transform and
// authplug_check.
const (
	StatusOK       = 0
	StatusNotFound = 1
	StatusError    = 2
)

// Defaults and limits (wasm-sdk/ABI.md, "Limits").
const (
	DefaultTimeout          = 2 * time.Second
	DefaultMemoryPages      = 256
	DefaultInstantiateLimit = 5 * time.Second
	MaxInputBytes           = 256 << 10
	MaxOutputBytes          = 64 << 10
	MaxConfigBytes          = 64 << 10
	MaxCatalogCalls         = 10
	MaxCatalogResultBytes   = 1 << 20
	MaxLogLines             = 50
	MaxLogBytes             = 16 << 10
	DefaultRecycleCalls     = 10000
	maxMemoryPages          = 65536
)

// Config opens a Host.
type Config struct {
	// CacheDir holds wazero's compilation cache; "" keeps it in memory only.
	CacheDir string
	// Logger receives guest logs and host events; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, when set, is updated per module. Register it yourself.
	Metrics *Metrics
	// CompilationWorkers is wazero's compiler parallelism; 0 means GOMAXPROCS.
	CompilationWorkers int
}

// Host compiles and runs modules. It is safe for concurrent use.
type Host struct {
	cfg   Config
	log   *slog.Logger
	cache wazero.CompilationCache
	mu    sync.Mutex
	rts   map[uint32]*hostRuntime // by memory page limit
	// shared holds one compiled module per page limit and sha256, with
	// the number of pools using it.
	shared map[string]*sharedModule
	// compiling holds a channel per key being compiled, closed when it is
	// done: loads of one file run in parallel (OpenSet), and wazero's
	// CompileModule of identical bytes on one runtime is not safe
	// concurrently (both calls write the listeners of the one compiled
	// module it shares between them), so the second waits and shares.
	compiling map[string]chan struct{}
	closed    bool
	// background counts pool refills in flight; Close waits for them, as
	// closing a runtime while a module instantiates in it is a data race.
	background sync.WaitGroup
}

type sharedModule struct {
	cm   wazero.CompiledModule
	refs int
}

// hostRuntime is one wazero runtime: memory limits are runtime-wide, so
// modules with the same page limit share one.
type hostRuntime struct {
	rt    wazero.Runtime
	pages uint32
}

// New opens a Host. It creates cfg.CacheDir when needed.
func New(cfg Config) (*Host, error) {
	h := &Host{cfg: cfg, log: cfg.Logger, rts: map[uint32]*hostRuntime{}, shared: map[string]*sharedModule{}, compiling: map[string]chan struct{}{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("wasm compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm compilation cache %s: %w", cfg.CacheDir, err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// runtimeFor returns the runtime for a page limit, creating it with WASI
// (defaults: no FS, env, args, network; fake clocks) and the authplug host
// module.
func (h *Host) runtimeFor(ctx context.Context, pages uint32) (*hostRuntime, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("wasm host is closed")
	}
	if r, ok := h.rts[pages]; ok {
		return r, nil
	}
	workers := h.cfg.CompilationWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(pages)
	rt := wazero.NewRuntimeWithConfig(experimental.WithCompilationWorkers(ctx, workers), rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasi: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	r := &hostRuntime{rt: rt, pages: pages}
	h.rts[pages] = r
	return r, nil
}

// Close closes every runtime and with it every module. Modules must not be
// called afterwards.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.background.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, r := range h.rts {
		errs = append(errs, r.rt.Close(ctx))
	}
	h.rts = nil
	errs = append(errs, h.cache.Close(ctx))
	return errors.Join(errs...)
}

// ModuleConfig declares one module (gatehouse.modules.<name>).
type ModuleConfig struct {
	// Name is the module's name in config; resolvers and transforms refer
	// to it. It tags logs and metrics.
	Name string
	// Path is the .wasm file.
	Path string
	// SHA256, when set, is the hex digest the file must have.
	SHA256 string
	// Timeout bounds each call; 0 means DefaultTimeout.
	Timeout time.Duration
	// MemoryPages caps linear memory (64 KiB pages); 0 means DefaultMemoryPages.
	MemoryPages uint32
	// Config is the module's config, handed to the guest as JSON.
	Config map[string]any
	// Kind restricts the module to "resolver" or "transform"; "" means
	// whatever its exports offer.
	Kind string
	// PoolSize is the number of instances; 0 means GOMAXPROCS.
	PoolSize int
	// RecycleCalls replaces an instance after this many calls; 0 means
	// DefaultRecycleCalls.
	RecycleCalls int
}

func (c *ModuleConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MemoryPages == 0 {
		c.MemoryPages = DefaultMemoryPages
	}
	if c.MemoryPages > maxMemoryPages {
		c.MemoryPages = maxMemoryPages
	}
	if c.PoolSize <= 0 {
		c.PoolSize = runtime.GOMAXPROCS(0)
	}
	if c.RecycleCalls <= 0 {
		c.RecycleCalls = DefaultRecycleCalls
	}
}

// readModule reads the file and checks the pin. It returns the bytes and
// their hex sha256.
func readModule(c ModuleConfig) ([]byte, string, error) {
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return nil, "", fmt.Errorf("reading module %q: %w", c.Name, err)
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	if c.SHA256 != "" && !strings.EqualFold(strings.TrimPrefix(c.SHA256, "sha256:"), digest) {
		return nil, "", fmt.Errorf("module %q: %s has sha256 %s, but the pin is %s; refusing it", c.Name, filepath.Base(c.Path), digest, c.SHA256)
	}
	return b, digest, nil
}

// exportSig is an export's required signature.
type exportSig struct {
	params, results []api.ValueType
}

var i32 = api.ValueTypeI32

var (
	sigMarker = exportSig{}
	sigCall   = exportSig{params: []api.ValueType{i32}, results: []api.ValueType{i32}}
	sigInit   = exportSig{}
)

func sigString(params, results []api.ValueType) string {
	n := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return n(params) + " -> " + n(results)
}

// compiled is one pool's view of a shared compiled module: its exports
// as the module's kind allows them.
type compiled struct {
	shared    *sharedModule
	key       string
	cm        wazero.CompiledModule
	rt        *hostRuntime
	digest    string
	resolve   bool
	transform bool
	check     bool
	init      bool
	size      int
	compileIn time.Duration
}

// compile compiles b and checks its exports and imports, so a bad module
// fails at load naming the export or import at fault.
func (h *Host) compile(ctx context.Context, c ModuleConfig, b []byte, digest string) (*compiled, error) {
	hr, err := h.runtimeFor(ctx, c.MemoryPages)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%d/%s", c.MemoryPages, digest)
	start := time.Now()
	var sm *sharedModule
	for {
		h.mu.Lock()
		if sm = h.shared[key]; sm != nil {
			sm.refs++
			h.mu.Unlock()
			break
		}
		wait, busy := h.compiling[key]
		if !busy {
			h.compiling[key] = make(chan struct{})
			h.mu.Unlock()
			break
		}
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("module %q: waiting for the same file's compilation: %w", c.Name, ctx.Err())
		}
	}
	if sm == nil {
		// This load compiles; whatever happens, the key is free again
		// afterwards and waiters look once more.
		defer func() {
			h.mu.Lock()
			close(h.compiling[key])
			delete(h.compiling, key)
			h.mu.Unlock()
		}()
		sl, err := newStackListeners(b)
		if err != nil {
			return nil, fmt.Errorf("module %q: not a valid WebAssembly module for this host: %v", c.Name, err)
		}
		cm, err := hr.rt.CompileModule(experimental.WithFunctionListenerFactory(ctx, sl), b)
		if err != nil {
			return nil, fmt.Errorf("module %q: not a valid WebAssembly module for this host: %v", c.Name, err)
		}
		h.mu.Lock()
		existing := h.shared[key]
		switch {
		case h.closed:
			h.mu.Unlock()
			return nil, errors.New("wasm host is closed")
		case existing != nil:
			// Not expected while this load holds compiling[key]; kept as
			// a guard. The duplicate is not closed: wazero keys compiled
			// code by content, so closing it would drop the code the
			// existing one uses.
			existing.refs++
			sm = existing
		default:
			sm = &sharedModule{cm: cm, refs: 1}
			h.shared[key] = sm
		}
		h.mu.Unlock()
	}
	out := &compiled{shared: sm, key: key, cm: sm.cm, rt: hr, digest: digest, size: len(b), compileIn: time.Since(start)}
	if err := checkShape(c, sm.cm, out); err != nil {
		h.release(ctx, out)
		return nil, err
	}
	return out, nil
}

// startBackground registers a background instantiation; it returns false
// once the host is closing.
func (h *Host) startBackground() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.background.Add(1)
	return true
}

// release drops a pool's use of a compiled module; the last one closes it.
func (h *Host) release(ctx context.Context, c *compiled) {
	h.mu.Lock()
	c.shared.refs--
	last := c.shared.refs == 0
	if last && h.shared[c.key] == c.shared {
		delete(h.shared, c.key)
	}
	h.mu.Unlock()
	if last {
		c.cm.Close(ctx)
	}
}

func checkShape(c ModuleConfig, cm wazero.CompiledModule, out *compiled) error {
	exp := cm.ExportedFunctions()
	has := func(name string, want exportSig) (bool, error) {
		d, ok := exp[name]
		if !ok {
			return false, nil
		}
		if !slices.Equal(d.ParamTypes(), want.params) || !slices.Equal(d.ResultTypes(), want.results) {
			return false, fmt.Errorf("module %q: export %q has signature %s, want %s", c.Name, name,
				sigString(d.ParamTypes(), d.ResultTypes()), sigString(want.params, want.results))
		}
		return true, nil
	}
	ok, err := has(ExportMarker, sigMarker)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("module %q: missing export %q: not an authplug v1 module (see wasm-sdk/ABI.md)", c.Name, ExportMarker)
	}
	if out.resolve, err = has(ExportResolve, sigCall); err != nil {
		return err
	}
	if out.transform, err = has(ExportTransform, sigCall); err != nil {
		return err
	}
	if out.check, err = has(ExportCheck, sigCall); err != nil {
		return err
	}
	if out.init, err = has(ExportInit, sigInit); err != nil {
		return err
	}
	switch c.Kind {
	case KindResolver:
		if !out.resolve {
			return fmt.Errorf("module %q: kind is %q but export %q is missing", c.Name, c.Kind, ExportResolve)
		}
		out.transform = false
	case KindTransform:
		if !out.transform {
			return fmt.Errorf("module %q: kind is %q but export %q is missing", c.Name, c.Kind, ExportTransform)
		}
		out.resolve = false
	case "":
		if !out.resolve && !out.transform {
			return fmt.Errorf("module %q: exports neither %q nor %q", c.Name, ExportResolve, ExportTransform)
		}
	default:
		return fmt.Errorf("module %q: unknown kind %q (want %q or %q)", c.Name, c.Kind, KindResolver, KindTransform)
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("module %q: missing export \"memory\"", c.Name)
	}
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		switch mod {
		case ImportModule:
			want, ok := hostSigs[name]
			if !ok {
				return fmt.Errorf("module %q: imports %s.%s, which the host does not offer (offered: %s)", c.Name, mod, name, strings.Join(hostNames(), ", "))
			}
			if !slices.Equal(d.ParamTypes(), want.params) || !slices.Equal(d.ResultTypes(), want.results) {
				return fmt.Errorf("module %q: imports %s.%s with signature %s, want %s", c.Name, mod, name,
					sigString(d.ParamTypes(), d.ResultTypes()), sigString(want.params, want.results))
			}
		case wasiModule:
			// wazero's WASI has every preview1 function; each is
			// sandboxed by the default ModuleConfig.
		default:
			return fmt.Errorf("module %q: imports %s.%s, which the host does not offer (only %q and %q)", c.Name, mod, name, ImportModule, wasiModule)
		}
	}
	for _, d := range cm.ImportedMemories() {
		mod, name, _ := d.Import()
		return fmt.Errorf("module %q: imports memory %s.%s, which the host does not offer", c.Name, mod, name)
	}
	return nil
}

// Module kinds.
const (
	KindResolver  = "resolver"
	KindTransform = "transform"
)
