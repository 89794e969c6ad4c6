package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/dbstore/pgtest"
)

// tcpProxy forwards a loopback port to PostgreSQL; cut drops every
// connection and stops listening, restore listens again on the same port.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]bool{}}
	p.restore()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) restore() {
	var ln net.Listener
	var err error
	for range 50 { // the port was just freed; another test may hold it briefly
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy cannot listen again on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) pipe(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(u, c); u.Close() }()
	_, _ = io.Copy(c, u)
	c.Close()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func getStatus(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDatabaseLostAndBack cuts PostgreSQL away from a running gatehouse
// serve and brings it back: JWKS keeps serving the keys last read, /readyz
// turns 503, a sign-in fails with the envelope's ServiceUnavailableError,
// and everything works again without a restart.
func TestDatabaseLostAndBack(t *testing.T) {
	pgURL := pgtest.URL(t)
	u, _ := url.Parse(pgURL)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	callback := base + "/api/auth/vcfsso/handler/frame"
	idp := startVCFIdP(t, callback)
	logs := &syncBuffer{}
	f := replicaConfig(t, t.TempDir(), u.String(), idp.Issuer()+"/", callback, base, port, "")
	startServe(t, f, base, logs)
	h := &harness{t: t, base: base, logs: logs}
	t.Cleanup(func() { assertLogsClean(t, logs) })

	signIn := func() (*http.Response, []byte) {
		return newBrowser(t).loginVia(h, "vcfsso", startQuery("development"), "alice", "alice-test-password", "login")
	}
	resp, body := signIn()
	msg := popupMessage(t, resp, body)
	tok := h.identityOf(msg["response"].(map[string]any), "user:default/alice", "user:default/alice", "group:default/team-a")
	_, jwksBefore := getStatus(t, base+"/api/auth/.well-known/jwks.json")

	proxy.cut()
	time.Sleep(1100 * time.Millisecond) // past the 1 s JWKS cache
	if code, body := getStatus(t, base+"/api/auth/.well-known/jwks.json"); code != 200 || string(body) != string(jwksBefore) {
		t.Errorf("JWKS while the database is lost: %d %s, want the last keys %s", code, body, jwksBefore)
	}
	if code, body := getStatus(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz while the database is lost: %d %s, want 503", code, body)
	}
	h.verifyToken(tok, "vnd.backstage.user")
	resp, body = signIn()
	if name, message := popupError(t, resp, body); name != "ServiceUnavailableError" {
		t.Errorf("sign-in while the database is lost: %s: %s, want ServiceUnavailableError", name, message)
	}

	proxy.restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := getStatus(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 20s after the database came back", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, body = signIn()
	msg = popupMessage(t, resp, body)
	h.identityOf(msg["response"].(map[string]any), "user:default/alice", "user:default/alice", "group:default/team-a")
	if code, claims := userInfo(t, base, tok); code != 200 || subOf(claims) != "user:default/alice" {
		t.Errorf("/v1/userinfo after recovery: %d %v", code, claims)
	}
}

// TestServeDatabaseUnreachable: serve retries an unreachable PostgreSQL for
// backend.database.startupTimeout, then exits non-zero naming the host and
// database, never the password.
func TestServeDatabaseUnreachable(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	f := replicaConfig(t, dir, "postgres://gh:pw-s3cr3t@127.0.0.1:1/gatehouse_db?connect_timeout=1", "http://127.0.0.1:1/", "http://127.0.0.1:1/cb", "http://127.0.0.1:1", port, "")
	b, _ := os.ReadFile(f)
	_ = os.WriteFile(f, []byte(strings.Replace(string(b), "startupTimeout: {seconds: 20}", "startupTimeout: {seconds: 1}", 1)), 0o600)
	var stderr syncBuffer
	start := time.Now()
	code := run(context.Background(), []string{"serve", "--config", f}, io.Discard, &stderr)
	out := stderr.String()
	if code == 0 || !strings.Contains(out, "127.0.0.1:1") || !strings.Contains(out, "gatehouse_db") || strings.Contains(out, "pw-s3cr3t") {
		t.Errorf("exit %d, stderr:\n%s", code, out)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("gave up after %v, want about the 1s startupTimeout", d)
	}
}

// TestMigrateCommand: `gatehouse migrate` applies the schema once; a
// second run applies nothing.
func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	yaml := "app: {baseUrl: http://a}\nbackend:\n  baseUrl: http://b\n  database: {client: better-sqlite3, connection: " + filepath.Join(dir, "db", "g.sqlite") + "}\n"
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"applied 0001_init", "(0 migration(s) applied now)"} {
		var out, errb syncBuffer
		if code := run(context.Background(), []string{"migrate", "--config", f}, &out, &errb); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, code, out.String(), errb.String())
		}
	}
}
