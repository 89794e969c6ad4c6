package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	cat, err := filepath.Abs(filepath.Join(wasmtest.Root(), "examples/dev/catalog.yaml"))
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

// TestResolveJSON: --json prints the trace and the result as one object
// with the keys `gatehouse try` printed (profile, resolver,
// userEntityRef, ownershipEntityRefs), and exits 1 with an error object
// when sign-in would fail.
func TestResolveJSON(t *testing.T) {
	cfg := wasmConfig(t, "", `            - resolver: emailMatchingUserEntityProfileEmail`)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"resolve", "--json", "--config", cfg, "--provider", "vcfsso", "--claims",
		write("alice.json", `{"userinfo": {"acct": "alice@example.com", "user_name": "alice"}}`)}, &stdout, &stderr)
	var got struct {
		Profile       map[string]any `json:"profile"`
		Resolver      string         `json:"resolver"`
		UserEntityRef string         `json:"userEntityRef"`
		Ownership     []string       `json:"ownershipEntityRefs"`
		Transforms    []map[string]any
		Resolvers     []map[string]any
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	if got.UserEntityRef != "user:default/alice" || got.Resolver != "emailMatchingUserEntityProfileEmail" ||
		got.Profile["email"] != "alice@example.com" || len(got.Transforms) != 2 || len(got.Resolvers) != 1 || len(got.Ownership) == 0 {
		t.Errorf("resolve --json:\n%s", stdout.String())
	}

	stdout.Reset()
	code = run(context.Background(), []string{"resolve", "--json", "--config", cfg, "--provider", "vcfsso", "--claims",
		write("nobody.json", `{"acct": "nobody@example.com"}`)}, &stdout, &stderr)
	var failed struct {
		Error struct{ Name, Message string } `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &failed); err != nil || code != 1 || !strings.Contains(failed.Error.Message, "unable to resolve user identity") {
		t.Errorf("exit %d, %v:\n%s", code, err, stdout.String())
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
