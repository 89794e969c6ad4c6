// Package backstagetest starts a real Backstage backend (backend-defaults
// with the catalog plugin, installed from npm under test/interop by
// `make interop`) for tests: a catalog that serves the entities a test
// gives it, trusts static tokens from backend.auth.externalAccess, and sends
// `auth` to whatever URL the test names (a Gatehouse). Tests skip when node
// or the npm packages are absent, and fail instead when GATEHOUSE_REQUIRE
// names node (internal/testenv), as `make interop` and .ci/run set it, so
// that CI never skips them silently.
package backstagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// StartTimeout bounds the backend's start and its first catalog processing.
const StartTimeout = 3 * time.Minute

// Options describes the backend to start.
type Options struct {
	// Entities are served from a file location. Users and Groups only.
	Entities []catalog.Entity
	// AuthURL is discovery.endpoints' target for the auth plugin, e.g. a
	// Gatehouse's http://127.0.0.1:1234/api/auth; "" leaves auth at the
	// backend's own (absent) auth plugin.
	AuthURL string
	// Port to listen on; 0 picks a free one.
	Port int
}

// Backend is a running Backstage backend.
type Backend struct {
	// BaseURL is backend.baseUrl, e.g. http://127.0.0.1:7007.
	BaseURL string
	// CatalogURL is BaseURL + "/api/catalog".
	CatalogURL string
	// StaticToken is accepted as an externalAccess static token (subject
	// "gatehouse-test").
	StaticToken string
	logs        *testlog.Buffer
}

// Logs returns what the backend printed so far.
func (b *Backend) Logs() string { return strings.TrimSpace(b.logs.String()) }

// Dir returns test/interop of this module, found by walking up from the
// working directory to go.mod.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "interop")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("backstagetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Require ends t through testenv.Missing (a skip, or a failure when
// GATEHOUSE_REQUIRE names node) unless node
// and the npm packages of test/interop are installed, and returns that
// directory.
func Require(t testing.TB) string {
	t.Helper()
	return RequirePackages(t, "@backstage/plugin-catalog-backend")
}

// RequirePackages is Require for the npm packages named (e.g.
// "@modelcontextprotocol/sdk"), each of which must be installed under
// test/interop/node_modules.
func RequirePackages(t testing.TB, packages ...string) string {
	t.Helper()
	dir := Dir(t)
	miss := ""
	if _, err := exec.LookPath("node"); err != nil {
		miss = "node is not on PATH"
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); miss == "" && err != nil {
			miss = p + " is not installed under " + filepath.Join(dir, "node_modules")
		}
	}
	if miss != "" {
		testenv.Missing(t, testenv.Node, miss+" (run `make interop` to install it and run these tests)")
	}
	return dir
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts the backend for t, waits until its catalog serves every
// entity of o with its relations, and stops it when t ends.
func Start(t testing.TB, o Options) *Backend {
	t.Helper()
	dir := Require(t)
	tmp := t.TempDir()
	var docs bytes.Buffer
	for _, e := range o.Entities {
		if e.Kind != "User" && e.Kind != "Group" {
			t.Fatalf("backstagetest: entity %s is a %s; only Users and Groups are allowed", catalog.RefOf(&e), e.Kind)
		}
		// Backstage's User schema requires spec.memberOf; entities that lack
		// it are dropped by the catalog with only a processing error.
		if e.Kind == "User" {
			spec := map[string]any{"memberOf": []any{}}
			for k, v := range e.Spec {
				spec[k] = v
			}
			e.Spec = spec
		}
		// JSON is YAML: one document per entity.
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		docs.WriteString("---\n")
		docs.Write(j)
		docs.WriteString("\n")
	}
	entitiesPath := filepath.Join(tmp, "entities.yaml")
	if err := os.WriteFile(entitiesPath, docs.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	port := o.Port
	if port == 0 {
		port = FreePort(t)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	static := randomToken(t)
	discovery := ""
	if o.AuthURL != "" {
		discovery = fmt.Sprintf("discovery:\n  endpoints:\n    - target: %q\n      plugins: [auth]\n", o.AuthURL)
	}
	cfg := fmt.Sprintf(`app:
  baseUrl: %[1]q
backend:
  baseUrl: %[1]q
  listen: {host: 127.0.0.1, port: %[2]d}
  database:
    client: better-sqlite3
    connection: ':memory:'
  auth:
    externalAccess:
      - type: static
        options: {token: %[3]q, subject: gatehouse-test}
%[4]scatalog:
  rules:
    - allow: [User, Group, Location]
  locations:
    - type: file
      target: %[5]q
`, base, port, static, discovery, entitiesPath)
	cfgPath := filepath.Join(tmp, "app-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &testlog.Buffer{}
	cmd := exec.Command("node", filepath.Join(dir, "backend.js"), "--config", cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "NODE_ENV=development", "NODE_OPTIONS=--no-deprecation")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("backstagetest: starting node: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// The backend's own process group: node and anything it spawned.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("Backstage backend output (last lines):\n%s", tail(logs.String(), 60))
		}
	})
	b := &Backend{BaseURL: base, CatalogURL: base + "/api/catalog", StaticToken: static, logs: logs}
	b.waitReady(t, o.Entities, exited)
	return b
}

// waitReady polls the catalog until it lists every entity with every
// memberOf relation the entities imply.
func (b *Backend) waitReady(t testing.TB, entities []catalog.Entity, exited <-chan struct{}) {
	t.Helper()
	wantEntities, wantMemberOf := expected(entities)
	deadline := time.Now().Add(StartTimeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("backstagetest: the Backstage backend exited while starting:\n%s", b.logs.String())
		default:
		}
		got, memberOf, err := b.snapshot()
		if err == nil && got == wantEntities && memberOf == wantMemberOf {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d of %d entities, %d of %d memberOf relations", got, wantEntities, memberOf, wantMemberOf)
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("backstagetest: the catalog was not ready within %s (%s); the backend's last lines:\n%s", StartTimeout, last, tail(b.logs.String(), 40))
}

func (b *Backend) snapshot() (entities, memberOf int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.CatalogURL+"/entities?filter=kind=user&filter=kind=group", nil)
	req.Header.Set("Authorization", "Bearer "+b.StaticToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	var list []catalog.Entity
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, 0, err
	}
	for _, e := range list {
		if e.Kind != "User" {
			continue
		}
		for _, r := range e.Relations {
			if r.Type == "memberOf" {
				memberOf++
			}
		}
	}
	return len(list), memberOf, nil
}

// expected counts the entities and the distinct user memberOf relations
// that spec.memberOf and group spec.members imply.
func expected(entities []catalog.Entity) (count, memberOf int) {
	pairs := map[string]bool{}
	users := map[string]bool{}
	for i := range entities {
		if entities[i].Kind == "User" {
			users[catalog.RefOf(&entities[i])] = true
		}
	}
	refOf := func(s, kind, ns string) string {
		r, err := catalog.ParseEntityRef(s, kind, ns)
		if err != nil {
			return ""
		}
		return r.String()
	}
	for i := range entities {
		e := &entities[i]
		ns := e.Metadata.Namespace
		switch e.Kind {
		case "User":
			for _, g := range stringList(e.Spec["memberOf"]) {
				pairs[catalog.RefOf(e)+" "+refOf(g, "group", ns)] = true
			}
		case "Group":
			for _, m := range stringList(e.Spec["members"]) {
				if u := refOf(m, "user", ns); users[u] {
					pairs[u+" "+catalog.RefOf(e)] = true
				}
			}
		}
	}
	return len(entities), len(pairs)
}

func stringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = l
	}
	return out
}

func randomToken(t testing.TB) string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "gatehouse-interop-" + hex.EncodeToString(b[:])
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
