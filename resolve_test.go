package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// sharedDataDir is a gatehouse.dataDir shared by this binary's tests, so
// each Go module is compiled once (seconds each, minutes under -race).
func sharedDataDir() string {
	return filepath.Join(filepath.Dir(wasmtest.CacheDir()), "gatehouse-data")
}

// wasmConfig writes an app-config using two Go example modules.
func wasmConfig(t *testing.T, extraModule, resolversYAML string) string {
	t.Helper()
	dir := t.TempDir()
	cat, err := filepath.Abs("examples/dev/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := `app: {baseUrl: http://localhost:7007}
backend: {baseUrl: http://localhost:7007}
auth:
  session: {secret: test-secret}
  providers:
    vcfsso:
      development:
        metadataUrl: http://127.0.0.1:1/acs/t/CUSTOMER/
        clientId: c
        clientSecret: s
        signIn:
          profileTransforms:
            - transform: vcfsso
            - transform: normalize-email
          resolvers:
` + resolversYAML + `
gatehouse:
  dataDir: ` + sharedDataDir() + `
  modules:
    normalize-email:
      path: ` + wasmtest.Go(t, "./examples/wasm/normalize-email") + `
    team-from-claims:
      path: ` + wasmtest.Go(t, "./examples/wasm/username-resolver") + `
      config: {domain: example.com}
` + extraModule + `
catalog:
  locations: [{type: file, target: ` + cat + `}]
`
	p := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveCommand(t *testing.T) {
	cfg := wasmConfig(t, "", `            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: team-from-claims`)
	claims := filepath.Join(t.TempDir(), "claims.json")
	if err := os.WriteFile(claims, []byte(`{"acct": "Bob+ci@Example.com", "user_name": "bob", "name": "Bob"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"resolve", "--config", cfg, "--provider", "vcfsso", "--claims", claims}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{
		`2. normalize-email`, `{"email":"bob@example.com","displayName":"Bob"}`,
		"1. emailMatchingUserEntityProfileEmail", "not found (User not found), next",
		"2. team-from-claims", "ok user:default/bob",
		"result: user:default/bob (by team-from-claims)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestCheckModuleProblems(t *testing.T) {
	cfg := wasmConfig(t, `    pinned:
      path: `+wasmtest.Go(t, "./examples/wasm/template")+`
      sha256: "`+strings.Repeat("0", 64)+`"`, `            - resolver: team-from-clams`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("check passed:\n%s", stdout.String())
	}
	for _, want := range []string{
		"gatehouse.modules.pinned", "but the pin is 0000",
		"signIn.resolvers[0]", "Sign-in resolver 'team-from-clams' is not available",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("missing %q in:\n%s", want, stderr.String())
		}
	}
}

func TestCheckModuleOfWrongKind(t *testing.T) {
	check := func(cfg string, want string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code == 0 {
			t.Fatalf("check passed:\n%s", stdout.String())
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("missing %q in:\n%s", want, stderr.String())
		}
	}
	// A Go SDK module exports both entry points; its check call says
	// which handler it lacks.
	check(wasmConfig(t, "", `            - resolver: normalize-email`),
		`signIn.resolvers[0]: gatehouse.modules.normalize-email: module normalize-email registers no sign-in resolver`)
	cfg := wasmConfig(t, "", `            - resolver: team-from-claims`)
	text := strings.Replace(mustRead(t, cfg), "team-from-claims:\n", "team-from-claims:\n      kind: resolver\n", 1)
	text = strings.Replace(text, "- transform: normalize-email", "- transform: team-from-claims", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	check(cfg, `signIn.profileTransforms[1]: module "team-from-claims" is declared kind "resolver": it is not a profile transform`)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSIGHUPReloadsModules: SIGHUP makes a serving gateway reload its
// modules from disk.
func TestSIGHUPReloadsModules(t *testing.T) {
	a, err := os.ReadFile(wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static.wat"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(wasmtest.WAT(t, "resolvers/wasm/testdata/wat/static_b.wat"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod := filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(mod, a, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(`app: {baseUrl: http://localhost:7007}
backend: {baseUrl: http://localhost:7007}
auth:
  session: {secret: test-secret}
  providers:
    vcfsso:
      development:
        metadataUrl: http://127.0.0.1:1/acs/t/CUSTOMER/
        clientId: c
        clientSecret: s
        signIn:
          resolvers: [{resolver: m}]
gatehouse:
  dataDir: `+filepath.Join(dir, "data")+`
  modules:
    m: {path: `+mod+`, memoryPages: 16}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{} // e2e_test.go
	logger := slog.New(slog.NewTextHandler(logs, nil))
	gw, err := build(cfg, buildOptions{logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.modules.Close(context.Background())
	resolve := func() string {
		res, err := gw.envs["vcfsso"]["development"].Resolver.Resolve(context.Background(), resolvers.SignInInput{ProviderID: "vcfsso", Result: &providers.Result{}})
		if err != nil {
			t.Fatal(err)
		}
		return res.UserEntityRef
	}
	if got := resolve(); got != "user:default/static" {
		t.Fatalf("before: %s", got)
	}
	// The test's own handler keeps a SIGHUP from ending the test binary
	// whatever the timing of watchModules' registration.
	own := make(chan os.Signal, 4)
	signal.Notify(own, syscall.SIGHUP)
	defer signal.Stop(own)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gw.watchModules(ctx, logger)
	time.Sleep(100 * time.Millisecond)
	if err := os.WriteFile(mod, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for resolve() != "user:default/second" {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "SIGHUP: reloading") {
		t.Errorf("reloaded, but not by SIGHUP; log:\n%s", logs.String())
	}
}
