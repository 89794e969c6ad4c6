package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const modBase = "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007}\n"

func TestModulesConfig(t *testing.T) {
	cfg, err := LoadBytes("a.yaml", []byte(modBase+`gatehouse:
  dataDir: /var/lib/gh
  modules:
    team-from-claims:
      path: ./modules/team.wasm
      sha256: SHA256:`+strings.Repeat("AB", 32)+`
      timeout: 500ms
      memoryPages: 128
      config: { domain: example.com }
      kind: resolver
    plain: { path: x.wasm }
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Modules
	if m.CacheDir != filepath.Join("/var/lib/gh", "wasm-cache") || len(m.ByName) != 2 {
		t.Fatalf("got %+v", m)
	}
	tc := m.ByName["team-from-claims"]
	if tc.File != "./modules/team.wasm" || tc.SHA256 != strings.Repeat("ab", 32) || tc.Timeout != 500*time.Millisecond ||
		tc.MemoryPages != 128 || tc.Config["domain"] != "example.com" || tc.Kind != "resolver" || tc.Path != "gatehouse.modules.team-from-claims" {
		t.Fatalf("got %+v", tc)
	}
	if p := m.ByName["plain"]; p.Timeout != 0 || p.MemoryPages != 0 || p.Kind != "" {
		t.Fatalf("defaults: %+v", p)
	}
	cfg, err = LoadBytes("a.yaml", []byte(modBase), Options{})
	if err != nil || cfg.Modules.CacheDir != filepath.Join("data", "wasm-cache") || cfg.Modules.ByName != nil {
		t.Fatalf("no modules: %+v %v", cfg.Modules, err)
	}
}

func TestModulesConfigErrors(t *testing.T) {
	_, err := LoadBytes("a.yaml", []byte(modBase+`gatehouse:
  modlues: {}
  modules:
    a: { sha256: abc, timeout: -1, memoryPages: 70000, kind: filter, config: [1], extra: 1 }
    "9bad": { path: x.wasm }
`), Options{})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`gatehouse.modlues: unknown key (did you mean "modules"?)`,
		"gatehouse.modules.a.path: required",
		"gatehouse.modules.a.sha256: expected 64 hexadecimal digits",
		"gatehouse.modules.a.timeout:",
		"gatehouse.modules.a.memoryPages: expected a whole number",
		`gatehouse.modules.a.kind: expected resolver or transform, got "filter"`,
		"gatehouse.modules.a.config: expected a map",
		"gatehouse.modules.a.extra: unknown key",
		"gatehouse.modules.9bad: a module name must start with a letter",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
