package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
)

// gatehouse runs the command line args and returns its exit code, stdout
// and stderr.
func gatehouse(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// configFile writes an app-config into a fresh directory and returns its
// path.
func configFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sqliteConfig is an app-config whose database is a SQLite file in a
// fresh directory, serving on an ephemeral loopback port without a
// metrics listener of its own.
func sqliteConfig(t *testing.T) string {
	return configFile(t, `app: {baseUrl: http://localhost:3000}
backend:
  baseUrl: http://localhost:7007
  listen: {host: 127.0.0.1, port: 0}
  database: {client: better-sqlite3, connection: `+filepath.Join(t.TempDir(), "gatehouse.sqlite")+`}
gatehouse:
  metrics: {enabled: false}
`)
}

// TestUsage: no command prints the usage to stderr and exits 2; help
// prints it to stdout and exits 0.
func TestUsage(t *testing.T) {
	if code, stdout, stderr := gatehouse(t); code != 2 || stdout != "" || stderr != usage {
		t.Errorf("no command: %d %q %q", code, stdout, stderr)
	}
	for _, h := range []string{"help", "-h", "--help"} {
		if code, stdout, stderr := gatehouse(t, h); code != 0 || stdout != usage || stderr != "" {
			t.Errorf("%s: %d %q %q", h, code, stdout, stderr)
		}
	}
}

// TestPrintProblems: config problems come one per line with their count;
// any other error is printed as it is.
func TestPrintProblems(t *testing.T) {
	var buf bytes.Buffer
	printProblems(&buf, config.Problems{{Path: "a.b", Message: "bad"}, {Path: "c", Message: "worse"}})
	if got := buf.String(); got != "a.b: bad\nc: worse\n2 problem(s) found\n" {
		t.Errorf("problems printed as %q", got)
	}
	buf.Reset()
	printProblems(&buf, errors.New("the server could not start"))
	if got := buf.String(); got != "the server could not start\n" {
		t.Errorf("an error printed as %q", got)
	}
}

// TestCheckOK: a config without problems is reported OK on stdout.
func TestCheckOK(t *testing.T) {
	cfg := sqliteConfig(t)
	code, stdout, stderr := gatehouse(t, "check", "--config", cfg)
	if code != 0 || stdout != "config OK: "+cfg+"\n" {
		t.Errorf("check: %d %q %q", code, stdout, stderr)
	}
}

// TestCheckOAuthRoutes: with the authorization server on, check lists the
// routes that configuration mounts (here CIMD without DCR: no /v1/register).
func TestCheckOAuthRoutes(t *testing.T) {
	cfg := configFile(t, `app: {baseUrl: http://localhost:3000}
backend: {baseUrl: http://localhost:7007, listen: {host: 127.0.0.1, port: 0}}
auth: {clientIdMetadataDocuments: {enabled: true}}
gatehouse: {metrics: {enabled: false}}
`)
	code, stdout, stderr := gatehouse(t, "check", "--config", cfg)
	want := "config OK: " + cfg + "\nOAuth authorization server at http://localhost:7007/api/auth: GET /v1/authorize, GET /v1/sessions/:sessionId, POST /v1/sessions/:sessionId/approve, POST /v1/sessions/:sessionId/reject, POST /v1/token, POST /v1/revoke\n"
	if code != 0 || stdout != want {
		t.Errorf("check: %d %q %q\nwant %q", code, stdout, stderr, want)
	}
}

// TestHealthcheck: healthcheck exits 0 only on a 200, printing the URL,
// status and body; it takes at most one URL.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"x"}` + "\n"))
	}))
	u := srv.URL + "/readyz"
	if code, stdout, stderr := gatehouse(t, "healthcheck", u); code != 0 || stdout != u+` 200 {"status":"x"}`+"\n" {
		t.Errorf("200: %d %q %q", code, stdout, stderr)
	}
	status = http.StatusServiceUnavailable
	if code, stdout, stderr := gatehouse(t, "healthcheck", u); code != 1 || !strings.HasPrefix(stdout, u+" 503 ") {
		t.Errorf("503: %d %q %q", code, stdout, stderr)
	}
	srv.Close()
	if code, stdout, stderr := gatehouse(t, "healthcheck", u); code != 1 || stdout != "" || !strings.HasPrefix(stderr, "gatehouse healthcheck: ") {
		t.Errorf("unreachable: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := gatehouse(t, "healthcheck", u, u); code != 2 || !strings.Contains(stderr, "at most one URL") {
		t.Errorf("two URLs: %d %q", code, stderr)
	}
}

// TestMigrateTwice: migrate applies the schema to a SQLite file, and a
// second run applies nothing and reports the same version.
func TestMigrateTwice(t *testing.T) {
	cfg := sqliteConfig(t)
	code, first, stderr := gatehouse(t, "migrate", "--config", cfg)
	if code != 0 || !strings.HasPrefix(first, "applied ") {
		t.Fatalf("first migrate: %d %q %q", code, first, stderr)
	}
	version := regexp.MustCompile(`schema at version (\d+) \((\d+) migration\(s\) applied now\)\n$`)
	m1 := version.FindStringSubmatch(first)
	if m1 == nil || m1[2] == "0" || strconv.Itoa(strings.Count(first, "\napplied ")+1) != m1[2] {
		t.Fatalf("first migrate printed:\n%s", first)
	}
	code, second, stderr := gatehouse(t, "migrate", "--config", cfg)
	m2 := version.FindStringSubmatch(second)
	if code != 0 || m2 == nil || m2[1] != m1[1] || m2[2] != "0" || strings.Contains(second, "applied 0") {
		t.Errorf("second migrate: %d %q %q; want version %s and nothing applied", code, second, stderr, m1[1])
	}
}

// TestMigrateFailures: a config that does not load, or a database that
// cannot be reached, exits 1 with the reason and never the password.
func TestMigrateFailures(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if code, _, stderr := gatehouse(t, "migrate", "--config", missing); code != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("missing config: %d %q", code, stderr)
	}
	const password = "hunter2-not-for-logs"
	pg := configFile(t, `app: {baseUrl: http://localhost:3000}
backend:
  baseUrl: http://localhost:7007
  database: {client: pg, startupTimeout: 1ms, connection: 'postgres://gatehouse:`+password+`@127.0.0.1:1/auth?sslmode=disable'}
`)
	code, stdout, stderr := gatehouse(t, "migrate", "--config", pg)
	if code != 1 || !strings.Contains(stderr, "backend.database: ") || strings.Contains(stdout+stderr, password) {
		t.Errorf("unreachable PostgreSQL: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := gatehouse(t, "migrate"); code != 2 || !strings.Contains(stderr, "--config") {
		t.Errorf("no --config: %d %q", code, stderr)
	}
}

// TestServeFailures: serve exits 2 on bad flags and 1, having printed
// every problem, on a config it cannot serve.
func TestServeFailures(t *testing.T) {
	if code, _, stderr := gatehouse(t, "serve", "--config", "x.yaml", "--skip-migrations", "--no-such-flag"); code != 2 || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") {
		t.Errorf("unknown flag: %d %q", code, stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if code, _, stderr := gatehouse(t, "serve", "--config", missing); code != 1 || !strings.Contains(stderr, missing+": ") || !strings.Contains(stderr, "1 problem(s) found") {
		t.Errorf("missing config: %d %q", code, stderr)
	}
	// Two problems found while building, printed at once.
	dir := t.TempDir()
	bad := configFile(t, `app: {baseUrl: http://localhost:3000}
backend:
  baseUrl: http://localhost:7007
  database: {client: better-sqlite3, connection: `+filepath.Join(dir, "gatehouse.sqlite")+`}
auth:
  session: {secret: test-secret}
  providers:
    vcfsso:
      development:
        metadataUrl: http://127.0.0.1:1/
        clientId: c
        clientSecret: s
        signIn:
          profileTransforms: [{transform: noSuchTransform}]
          resolvers: [{resolver: noSuchResolver}]
`)
	code, _, stderr := gatehouse(t, "serve", "--config", bad)
	if code != 1 || !strings.Contains(stderr, "signIn.profileTransforms[0]: ") || !strings.Contains(stderr, "signIn.resolvers[0]: ") || !strings.Contains(stderr, "2 problem(s) found") {
		t.Errorf("bad config: %d\n%s", code, stderr)
	}
	// A database that cannot be opened.
	pg := configFile(t, "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: http://localhost:7007\n  database: {client: pg, startupTimeout: 1ms, connection: 'postgres://u@127.0.0.1:1/auth?sslmode=disable'}\n")
	if code, _, stderr := gatehouse(t, "serve", "--config", pg); code != 1 || !strings.Contains(stderr, "backend.database: ") {
		t.Errorf("unreachable PostgreSQL: %d %q", code, stderr)
	}
}

// watchWriter is a stderr that tells the test when a line containing want
// has been written, with that line.
type watchWriter struct {
	want string
	seen chan string

	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.want)) {
		w.once.Do(func() { w.seen <- string(p) })
	}
	return w.buf.Write(p)
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeUntilCancelled: serve opens the database (without migrating
// when told so), answers its readiness probe, and exits 0 once its context
// ends.
func TestServeUntilCancelled(t *testing.T) {
	for _, skip := range []bool{false, true} {
		t.Run(map[bool]string{false: "migrating", true: "--skip-migrations"}[skip], func(t *testing.T) {
			cfg := sqliteConfig(t)
			args := []string{"serve", "--config", cfg, "--log-format", "json"}
			if skip {
				args = append(args, "--skip-migrations")
			}
			stderr := &watchWriter{want: `"msg":"gatehouse listening"`, seen: make(chan string, 1)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			exit := make(chan int, 1)
			go func() { exit <- run(ctx, args, &bytes.Buffer{}, stderr) }()
			var line string
			select {
			case line = <-stderr.seen:
			case code := <-exit:
				t.Fatalf("serve exited %d before listening:\n%s", code, stderr.String())
			}
			addr := regexp.MustCompile(`"addr":"([^"]+)"`).FindStringSubmatch(line)
			if addr == nil {
				t.Fatalf("no address in %s", line)
			}
			code, stdout, errs := gatehouse(t, "healthcheck", "http://"+addr[1]+"/healthz")
			if code != 0 {
				t.Errorf("healthcheck of the running server: %d %q %q", code, stdout, errs)
			}
			cancel()
			if code := <-exit; code != 0 {
				t.Errorf("serve exited %d:\n%s", code, stderr.String())
			}
			log := stderr.String()
			if migrated := strings.Contains(log, `"msg":"database migrated"`); migrated == skip {
				t.Errorf("--skip-migrations %v, yet migrated %v:\n%s", skip, migrated, log)
			}
			if !strings.Contains(log, `"msg":"shutdown complete"`) || !strings.Contains(log, `"what":"database"`) {
				t.Errorf("no clean shutdown closing the database:\n%s", log)
			}
		})
	}
}

// TestKeysUsageErrors: keys without a subcommand, with an unknown one,
// with a bad flag or without a required one exits 2 and says what is
// wrong; help prints the usage.
func TestKeysUsageErrors(t *testing.T) {
	if code, stdout, _ := gatehouse(t, "keys", "help"); code != 0 || stdout != keysUsage {
		t.Errorf("keys help: %d %q", code, stdout)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys"}, "gatehouse keys generate"},
		{[]string{"keys", "rotate"}, `unknown subcommand "rotate"`},
		{[]string{"keys", "generate"}, "--out DIR is required"},
		{[]string{"keys", "generate", "--out", dir, "--alg", "HS256"}, "HS256"},
		{[]string{"keys", "generate", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"keys", "inspect"}, "--public-key-file is required"},
		{[]string{"keys", "inspect", "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		if code, _, stderr := gatehouse(t, c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %d %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an unknown algorithm wrote %v", entries)
	}
}

// TestKeysFileErrors: keys generate and inspect exit 1 naming the file
// that cannot be written or read, or the key that does not fit.
func TestKeysFileErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gatehouse(t, "keys", "generate", "--out", filepath.Join(notDir, "keys")); code != 1 || !strings.Contains(stderr, notDir) {
		t.Errorf("--out under a file: %d %q", code, stderr)
	}
	// Only the public half exists: the private key is never overwritten.
	if err := os.WriteFile(filepath.Join(dir, "k.pub"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gatehouse(t, "keys", "generate", "--out", dir, "--kid", "k"); code != 1 || !strings.Contains(stderr, "k.pub") {
		t.Errorf("existing public key file: %d %q", code, stderr)
	}

	write := func(name string, pem []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	priv1, pub1, err := identity.GenerateKeyPair("ES256")
	if err != nil {
		t.Fatal(err)
	}
	_, pub2, err := identity.GenerateKeyPair("ES256")
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile, otherPub := write("one.key", priv1), write("one.pub", pub1), write("two.pub", pub2)
	garbage := write("garbage.pub", []byte("not a key"))
	missing := filepath.Join(dir, "missing.pub")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"a missing file, kid derived", []string{"--public-key-file", missing}, "missing.pub"},
		{"a missing file, kid given", []string{"--public-key-file", missing, "--kid", "k"}, "missing.pub"},
		{"not a key, kid derived", []string{"--public-key-file", garbage}, "gatehouse keys inspect: "},
		{"halves of different pairs", []string{"--public-key-file", otherPub, "--private-key-file", privFile}, "gatehouse keys inspect: "},
		{"the wrong algorithm", []string{"--public-key-file", pubFile, "--alg", "RS256"}, "gatehouse keys inspect: "},
	} {
		if code, stdout, stderr := gatehouse(t, append([]string{"keys", "inspect"}, c.args...)...); code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: %d %q %q; want 1 and %q", c.name, code, stdout, stderr, c.want)
		}
	}
	if code, stdout, stderr := gatehouse(t, "keys", "inspect", "--public-key-file", pubFile); code != 0 || !strings.HasPrefix(stdout, pubFile+" (public key only)\n{") {
		t.Errorf("public key only: %d %q %q", code, stdout, stderr)
	}
}
