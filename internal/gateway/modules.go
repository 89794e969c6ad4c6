package gateway

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
)

// moduleWatchInterval is how often module files are checked for changes.
const moduleWatchInterval = time.Second

// openModules loads gatehouse.modules (WebAssembly resolvers and
// transforms) with their metrics on the ops registry, and has shutdown
// close them. It always returns a usable Set (with the modules that did
// load), so build can go on collecting problems.
func openModules(cfg *config.Config, o Options, ops *opsState) (*wasm.Set, error) {
	empty, _ := wasm.OpenSet(context.Background(), nil, wasm.Config{})
	if len(cfg.Modules.ByName) == 0 {
		return empty, nil
	}
	met, err := wasm.NewMetrics(ops.registry)
	if err != nil {
		return empty, err
	}
	// On problems the set still holds the modules that loaded.
	set, err := wasm.OpenSet(context.Background(), declaredModules(cfg.Modules),
		wasm.Config{Logger: o.Logger, Metrics: met, CacheDir: cfg.Modules.CacheDir})
	ops.onClose("wasm modules", set.Close)
	return set, err
}

// WatchModules reloads a module when its file changes and every module on
// SIGHUP, until ctx ends. A module that fails to load keeps its previous
// version serving; the failure is logged.
func (gw *Gateway) WatchModules(ctx context.Context, logger *slog.Logger) {
	if gw.modules == nil || len(gw.cfg.Modules.ByName) == 0 {
		return
	}
	go gw.modules.Watch(ctx, moduleWatchInterval)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			logger.Info("SIGHUP: reloading WebAssembly modules")
			if err := gw.modules.ReloadAll(ctx); err != nil {
				logger.Error("some modules did not reload; their previous versions keep serving", "error", err)
			}
		}
	}
}

// declaredModules hands gatehouse.modules to the wasm package in its own
// types, so that it does not depend on config.
func declaredModules(m config.Modules) []wasm.Declared {
	var out []wasm.Declared
	for name, d := range m.ByName {
		out = append(out, wasm.Declared{KeyPath: d.Path, ModuleConfig: wasm.ModuleConfig{
			Name: name, Path: d.File, SHA256: d.SHA256, Timeout: d.Timeout,
			MemoryPages: d.MemoryPages, Config: d.Config, Kind: d.Kind,
		}})
	}
	return out
}
