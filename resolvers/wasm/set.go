package wasm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehouse-auth/gatehouse/internal/keypath"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// Set is the modules a config declares (gatehouse.modules), on one Host.
type Set struct {
	host *Host
	mods map[string]*Module
}

// Declared is one module a configuration declares (gatehouse.modules.<name>),
// filled in by the wiring so that this package never imports config.
type Declared struct {
	ModuleConfig
	// KeyPath is the declaration's key path, e.g. "gatehouse.modules.team",
	// at which its problems are reported.
	KeyPath string
}

// OpenSet loads every declared module, up to GOMAXPROCS at once;
// cfg.CacheDir is the compilation cache (<gatehouse.dataDir>/wasm-cache
// from the wiring). Loading from a warm cache is CPU work (wazero decodes
// and validates the binary and checksums the cached code, ~70 ms CPU for
// a std-Go module), so modules loaded one after another made start-up
// grow by that much per module while the other cores idled. Every load
// has finished, successfully or not, when OpenSet returns.
// Problems (unreadable file, pin mismatch, bad exports or imports, a name
// taken by a built-in) are keypath.Problems at each declaration's
// KeyPath (a bad cache directory at gatehouse.dataDir), all reported at
// once; the Set returned with them holds the modules that did load and
// must still be closed. No declaration gives an empty Set that holds no
// runtime.
func OpenSet(ctx context.Context, decls []Declared, cfg Config) (*Set, error) {
	s := &Set{mods: map[string]*Module{}}
	if len(decls) == 0 {
		return s, nil
	}
	h, err := New(cfg)
	if err != nil {
		return s, keypath.Problems{{Path: "gatehouse.dataDir", Message: err.Error()}}
	}
	s.host = h
	decls = slices.SortedFunc(slices.Values(decls), func(a, b Declared) int { return strings.Compare(a.Name, b.Name) })
	builtinR, builtinT := resolvers.BuiltinResolvers(), resolvers.BuiltinTransforms()
	// Each load writes only its own slot; problems are then reported in
	// name order, as when modules loaded one after another.
	type outcome struct {
		m       *Module
		problem string
	}
	outcomes := make([]outcome, len(decls))
	var loads errgroup.Group
	loads.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range decls {
		name := d.Name
		if _, ok := builtinR[name]; ok {
			outcomes[i].problem = fmt.Sprintf("%q is the name of a built-in sign-in resolver; choose another module name", name)
			continue
		}
		if _, ok := builtinT[name]; ok {
			outcomes[i].problem = fmt.Sprintf("%q is the name of a built-in profile transform; choose another module name", name)
			continue
		}
		loads.Go(func() error {
			// A failed Load releases what it built (compiled code, the
			// instance), so a failure leaves nothing behind. Its problem
			// goes in the slot, not to the group, so every load runs.
			m, err := h.Load(ctx, d.ModuleConfig)
			if err != nil {
				outcomes[i].problem = err.Error()
				return nil
			}
			outcomes[i].m = m
			return nil
		})
	}
	_ = loads.Wait() // every load returns nil
	var problems keypath.Problems
	for i, o := range outcomes {
		if o.problem != "" {
			problems = append(problems, keypath.Problem{Path: decls[i].KeyPath, Message: o.problem})
			continue
		}
		s.mods[decls[i].Name] = o.m
	}
	if len(problems) > 0 {
		// The modules that loaded stay usable, so signIn steps naming
		// them do not add noise to the problems above.
		return s, problems
	}
	return s, nil
}

// Module returns a loaded module by name.
func (s *Set) Module(name string) (*Module, bool) {
	m, ok := s.mods[name]
	return m, ok
}

// Resolvers returns base plus a factory for every module. Naming a module
// that lacks authplug_resolve in signIn.resolvers is a start-up error that
// says so. base is not modified.
func (s *Set) Resolvers(base map[string]resolvers.ResolverFactory) map[string]resolvers.ResolverFactory {
	out := maps.Clone(base)
	for name, m := range s.mods {
		out[name] = m.ResolverFactory()
	}
	return out
}

// Transforms returns base plus a factory for every module, as Resolvers
// does. base is not modified.
func (s *Set) Transforms(base map[string]resolvers.TransformFactory) map[string]resolvers.TransformFactory {
	out := maps.Clone(base)
	for name, m := range s.mods {
		out[name] = m.TransformFactory()
	}
	return out
}

// ReloadAll reloads every module whose file changed (SIGHUP). A module
// that fails keeps its old version serving; the errors are joined.
func (s *Set) ReloadAll(ctx context.Context) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.mods)) {
		errs = append(errs, s.mods[name].Reload(ctx))
	}
	return errors.Join(errs...)
}

// Watch polls each module's file every interval and reloads it when its
// size or modification time changes, until ctx ends. Polling, rather than
// inotify, also sees files replaced on network and container mounts.
func (s *Set) Watch(ctx context.Context, interval time.Duration) {
	if len(s.mods) == 0 {
		return
	}
	type stamp struct {
		size int64
		mod  time.Time
	}
	seen := map[string]stamp{}
	look := func(m *Module) (stamp, bool) {
		fi, err := os.Stat(m.cfg.Path)
		if err != nil {
			return stamp{}, false
		}
		return stamp{fi.Size(), fi.ModTime()}, true
	}
	for name, m := range s.mods {
		seen[name], _ = look(m)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for name, m := range s.mods {
			st, ok := look(m)
			if !ok || st == seen[name] {
				continue
			}
			seen[name] = st
			// Reload logs its own failure and keeps the old version.
			_ = m.Reload(ctx)
		}
	}
}

// Close closes every module and the host.
func (s *Set) Close(ctx context.Context) error {
	for _, m := range s.mods {
		m.Close()
	}
	if s.host == nil {
		return nil
	}
	return s.host.Close(ctx)
}
