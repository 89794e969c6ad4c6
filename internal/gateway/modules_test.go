package gateway

import (
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
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// TestSIGHUPReloadsModules: SIGHUP makes a serving gateway reload its
// modules from disk.
func TestSIGHUPReloadsModules(t *testing.T) {
	a := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static.wat")
	b := wasmtest.WATBytes(t, "resolvers/wasm/testdata/wat/static_b.wat")
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
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	gw, err := Build(cfg, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close(context.Background())
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
	go gw.WatchModules(ctx, logger)
	if err := os.WriteFile(mod, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// WatchModules may not listen yet when the first SIGHUP comes, so
	// SIGHUP is sent until the reload is seen; the deadline only stops a
	// test that would otherwise hang.
	deadline := time.Now().Add(30 * time.Second)
	for resolve() != "user:default/second" {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded; log:\n%s", logs.String())
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "SIGHUP: reloading") {
		t.Errorf("reloaded, but not by SIGHUP; log:\n%s", logs.String())
	}
}
