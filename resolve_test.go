package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

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
  dataDir: ` + filepath.Join(dir, "data") + `
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
