package config

import (
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Modules is gatehouse.modules: WebAssembly sign-in resolvers and profile
// transforms, declared once and named in signIn like built-ins.
type Modules struct {
	// CacheDir is where compiled modules are cached:
	// <gatehouse.dataDir>/wasm-cache (gatehouse.dataDir defaults to "data").
	CacheDir string
	// ByName maps a module name to its declaration; empty when none.
	ByName map[string]*Module
}

// Module is gatehouse.modules.<name>.
type Module struct {
	// Name is the map key; signIn entries refer to it.
	Name string
	// Path is the key path, e.g. "gatehouse.modules.team-from-claims".
	Path string
	// File is path: the .wasm file, relative to the working directory.
	File string
	// SHA256 is sha256: when set (64 hex digits), the file must match it.
	SHA256 string
	// Timeout is timeout, per call; 0 means the host default (2s).
	Timeout time.Duration
	// MemoryPages is memoryPages (64 KiB each); 0 means the host default (256).
	MemoryPages uint32
	// Config is config, handed to the module as JSON; nil when unset.
	Config map[string]any
	// Kind is kind: "resolver", "transform" or "" (whatever it exports).
	Kind string
}

// Keys of the gatehouse block. A key here belongs to some part of
// Gatehouse; anything else under gatehouse is reported as a typo. Add new
// gatehouse.* keys here.
var gatehouseKeys = []string{"dataDir", "modules", "catalog", "metrics", "shutdown", "logging", "sessions", "oauth"}

var moduleKeys = []string{"path", "sha256", "timeout", "memoryPages", "config", "kind"}

// moduleName is what a module may be called: it shares the signIn name
// space with the built-ins and appears in metric labels.
var moduleName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)

// maxModulePages is WebAssembly's 4 GiB limit in 64 KiB pages.
const maxModulePages = 65536

// decodeModules reads gatehouse.dataDir and gatehouse.modules, and reports
// unknown keys under gatehouse.
func (d *decoder) decodeModules(raw map[string]any, cfg *Config) {
	dataDir := "data"
	m := &cfg.Modules
	// gatehouse itself being a non-map is reported by decodeOps.
	g, ok := raw["gatehouse"].(map[string]any)
	if ok {
		d.unknownKeys(g, "gatehouse", gatehouseKeys)
		if s, ok := d.str(g["dataDir"], "gatehouse.dataDir", false); ok && strings.TrimSpace(s) != "" {
			dataDir = s
		}
	}
	m.CacheDir = filepath.Join(dataDir, "wasm-cache")
	mods, ok := d.mapOf(g["modules"], "gatehouse.modules")
	if !ok {
		return
	}
	m.ByName = map[string]*Module{}
	for _, name := range sortedKeys(mods) {
		p := joinPath("gatehouse.modules", name)
		if !moduleName.MatchString(name) {
			d.add(p, "a module name must start with a letter and have at most 64 letters, digits, '.', '_' or '-'")
			continue
		}
		e, ok := d.mapOf(mods[name], p)
		if !ok {
			if mods[name] == nil {
				d.typeErr(p, "a map", nil)
			}
			continue
		}
		d.unknownKeys(e, p, moduleKeys)
		mod := &Module{Name: name, Path: p}
		mod.File = d.required(e, p, "path", false)
		if s, ok := d.str(e["sha256"], joinPath(p, "sha256"), false); ok && s != "" {
			s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
			if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
				d.add(joinPath(p, "sha256"), "expected 64 hexadecimal digits (the file's SHA-256)")
			} else {
				mod.SHA256 = s
			}
		}
		if v, ok := e["timeout"]; ok && v != nil {
			if t, ok := d.timeout(v, joinPath(p, "timeout")); ok {
				mod.Timeout = t
			}
		}
		if v, ok := e["memoryPages"]; ok && v != nil {
			if f, ok := d.number(v, joinPath(p, "memoryPages")); ok {
				if f < 1 || f > maxModulePages || f != math.Trunc(f) {
					d.add(joinPath(p, "memoryPages"), fmt.Sprintf("expected a whole number of 64 KiB pages from 1 to %d", maxModulePages))
				} else {
					mod.MemoryPages = uint32(f)
				}
			}
		}
		if v, ok := e["config"]; ok && v != nil {
			if c, ok := d.mapOf(v, joinPath(p, "config")); ok {
				mod.Config = c
			}
		}
		if s, ok := d.str(e["kind"], joinPath(p, "kind"), false); ok && s != "" {
			if s != "resolver" && s != "transform" {
				d.add(joinPath(p, "kind"), fmt.Sprintf("expected resolver or transform, got %q", s))
			} else {
				mod.Kind = s
			}
		}
		m.ByName[name] = mod
	}
}
