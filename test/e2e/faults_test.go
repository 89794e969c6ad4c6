package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
	"github.com/gatehouse-auth/gatehouse/identity/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
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
	logs := &testlog.Buffer{}
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
	var stderr testlog.Buffer
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
		var out, errb testlog.Buffer
		if code := run(context.Background(), []string{"migrate", "--config", f}, &out, &errb); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, code, out.String(), errb.String())
		}
	}
}

// faultyCatalog fails every lookup while fail is set: the catalog is down.
type faultyCatalog struct {
	catalog.Catalog
	fail *atomic.Bool
}

func (c faultyCatalog) FindUser(ctx context.Context, q catalog.Query) (*catalog.Entity, error) {
	if c.fail.Load() {
		return nil, autherr.Wrap(autherr.NameServiceUnavailable, "catalog is unreachable (test fault)", nil)
	}
	return c.Catalog.FindUser(ctx, q)
}

// faultyResolver fails while fail is set: a resolver (e.g. a WASM module)
// returning an error.
type faultyResolver struct {
	resolvers.SignInResolver
	fail *atomic.Bool
}

func (r faultyResolver) Resolve(ctx context.Context, in resolvers.SignInInput) (*resolvers.SignInResult, error) {
	if r.fail.Load() {
		return nil, errors.New("resolver failed (test fault)")
	}
	return r.SignInResolver.Resolve(ctx, in)
}

// TestRefreshFaultKeepsRotatedToken: the dev IdP's CSP rotates refresh
// tokens and refuses a spent one, so a refresh that fails after the IdP answered
// (the user info store's database, the catalog or a resolver down) must
// still hand the browser the new refresh token, or the session is lost
// once the fault clears. Five sessions per fault; all five must survive.
func TestRefreshFaultKeepsRotatedToken(t *testing.T) {
	pgURL := pgtest.URL(t)
	u, _ := url.Parse(pgURL)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	db, err := sqlstore.Open(t.Context(), sqlstore.Config{Client: sqlstore.ClientPostgres, Connection: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The session-end records stay in memory: with them in the database
	// too, a refresh would be refused before the IdP is called (see
	// server/sessionend.go), and this test is about what follows the IdP.
	h := newHarness(t, harnessOptions{noServer: true, db: db, sessionEnds: identity.NewMemorySessionEndStore()})
	t.Cleanup(func() { db.Close() })

	// The provider's own chain again, over a catalog that can fail,
	// behind a resolver that can fail; set before the server serves.
	const provider = "vmwareCloudServices"
	var catalogDown, resolverDown atomic.Bool
	pe, _ := h.gw.Env(provider, "development")
	var steps []resolvers.Step
	for _, s := range h.gw.Config().Auth.Providers[provider]["development"].SignIn.Resolvers {
		steps = append(steps, resolvers.Step{Name: s.Name, Options: s.Options, Path: s.Path})
	}
	chain, err := resolvers.NewChain(steps,
		resolvers.BuiltinResolvers(), resolvers.Deps{Catalog: faultyCatalog{Catalog: h.gw.Catalog(), fail: &catalogDown}})
	if err != nil {
		t.Fatal(err)
	}
	pe.Resolver = faultyResolver{SignInResolver: chain, fail: &resolverDown}
	srv := &http.Server{Handler: h.gw.Handler(nil)}
	go func() { _ = srv.Serve(h.ln) }()
	t.Cleanup(func() { srv.Close() })

	waitReady := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if code, _ := getStatus(t, h.base+"/readyz"); code == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("/readyz not 200 20s after the database came back")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	faults := []struct {
		name         string
		cause        string
		break_, heal func()
	}{
		{"database", "ServiceUnavailableError", proxy.cut, func() { proxy.restore(); waitReady() }},
		{"catalog", "ServiceUnavailableError", func() { catalogDown.Store(true) }, func() { catalogDown.Store(false) }},
		{"resolver", "Error", func() { resolverDown.Store(true) }, func() { resolverDown.Store(false) }},
	}
	const sessions = 5
	refreshPath := "/api/auth/" + provider + "/refresh"
	cookieName := provider + "-refresh-token"
	refresh := func(b *browser) (*http.Response, map[string]any) {
		resp, body := b.do("GET", h.base+refreshPath+"?env=development", nil, xhr)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return resp, m
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			bs := make([]*browser, sessions)
			for i := range bs {
				bs[i] = newBrowser(t)
				resp, body := bs[i].loginVia(h, provider, cspQuery(), "alice", "alice-test-password", "login")
				popupMessage(t, resp, body)
			}
			f.break_()
			for i, b := range bs {
				old := b.cookieAt(h, refreshPath, cookieName)
				resp, m := refresh(b)
				e, _ := m["error"].(map[string]any)
				cause, _ := e["cause"].(map[string]any)
				if resp.StatusCode != 401 || e["name"] != "AuthenticationError" || cause["name"] != f.cause {
					t.Errorf("session %d: refresh with the %s down: %d %v, want 401 AuthenticationError caused by %s", i, f.name, resp.StatusCode, m, f.cause)
				}
				var rotated string
				for _, c := range resp.Cookies() {
					if c.Name == cookieName {
						rotated = c.Value
					}
				}
				if rotated == "" || rotated == old {
					t.Errorf("session %d: the failed refresh set no new refresh cookie (Set-Cookie %q)", i, resp.Header.Values("Set-Cookie"))
				}
			}
			f.heal()
			survived := 0
			for _, b := range bs {
				if resp, m := refresh(b); resp.StatusCode == 200 && m["backstageIdentity"] != nil {
					survived++
				}
			}
			t.Logf("%s down for one refresh: %d of %d sessions survived", f.name, survived, sessions)
			if survived != sessions {
				t.Errorf("%s down for one refresh: %d of %d sessions survived, want all", f.name, survived, sessions)
			}
		})
	}
}
