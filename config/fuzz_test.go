package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as an app-config file (YAML,
// ${VAR} substitution and $env/$include, APP_CONFIG_* overrides, decoding),
// seeded with the real example configs. Whatever the input: no panic; either
// a Config or a non-empty Problems, sorted, each with a key path (or the
// file name, or the APP_CONFIG_ variable) and a message.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{"../examples/dev/app-config.yaml", "../examples/replicas/app-config.production.yaml", "../examples/wasm/app-config.yaml"} {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, "value-from-env", "")
		}
	}
	f.Add([]byte(baseYAML), "s3cret", `{"baseUrl":"http://localhost:3000"}`)
	f.Add([]byte("auth:\n  session:\n    secret: ${GH_FUZZ}\n  providers:\n    oidc:\n      development:\n        metadataUrl: {$env: GH_FUZZ}\n        scope: openid\n"), "x", "")
	f.Add([]byte("backend:\n  database:\n    client: pg\n    connection: $${literal}\n    startupTimeout: {seconds: ${GH_FUZZ}}\n"), "3", "[1,2]")
	f.Add([]byte("- a\n- b\n"), "", "")
	f.Add([]byte("a: [\n"), "", "")
	f.Fuzz(func(t *testing.T, data []byte, envValue, override string) {
		// $file and $include read files; keep them off device files that
		// never end (the fuzzer has no other way to reach the disk).
		if s := string(data); strings.Contains(s, "$file") || strings.Contains(s, "$include") {
			for _, dev := range []string{"/dev", "/proc", "/sys"} {
				if strings.Contains(s, dev) {
					t.Skip("reads a device file")
				}
			}
		}
		env := map[string]string{"GH_FUZZ": envValue, "APP_CONFIG_app": override}
		cfg, err := LoadBytes("fuzz.yaml", data, fakeEnv(env))
		if err == nil {
			if cfg == nil {
				t.Fatal("nil Config and nil error")
			}
			return
		}
		if cfg != nil {
			t.Fatalf("a Config with an error: %v", err)
		}
		ps, ok := err.(Problems)
		if !ok || len(ps) == 0 {
			t.Fatalf("error %T %v, want a non-empty Problems", err, err)
		}
		if !slices.IsSortedFunc(ps, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) }) {
			t.Fatalf("problems not sorted by path:\n%v", ps)
		}
		for _, p := range ps {
			if p.Path == "" || p.Message == "" {
				t.Fatalf("problem without a key path or message: %#v", p)
			}
		}
	})
}
