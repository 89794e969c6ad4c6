package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

// logWatch is a slog handler that keeps the log text and lets a test wait
// for a message: Serve's steps are ordered, and their log lines say when
// each has happened, so tests wait on them rather than on the clock.
type logWatch struct {
	slog.Handler
	buf *testlog.Buffer

	mu      sync.Mutex
	seen    map[string]bool
	waiters map[string]chan struct{}
}

func newLogWatch() *logWatch {
	buf := &testlog.Buffer{}
	return &logWatch{Handler: slog.NewTextHandler(buf, nil), buf: buf, seen: map[string]bool{}, waiters: map[string]chan struct{}{}}
}

// logger logs to w.
func (w *logWatch) logger() *slog.Logger { return slog.New(w) }

func (w *logWatch) Handle(ctx context.Context, r slog.Record) error {
	w.mu.Lock()
	w.seen[r.Message] = true
	if c, ok := w.waiters[r.Message]; ok {
		close(c)
		delete(w.waiters, r.Message)
	}
	w.mu.Unlock()
	return w.Handler.Handle(ctx, r)
}

// when is closed once a record with message msg has been logged.
func (w *logWatch) when(msg string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := make(chan struct{})
	if w.seen[msg] {
		close(c)
		return c
	}
	if old, ok := w.waiters[msg]; ok {
		return old
	}
	w.waiters[msg] = c
	return c
}

func (w *logWatch) String() string { return w.buf.String() }

// localListener listens on an ephemeral port of the loopback interface.
func localListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// client makes one connection per request, so that no idle connection
// outlives a test's server.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// get answers the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestHandlerRoutes: the auth routes, /healthz and /readyz are on the auth
// handler; /metrics only when gatehouse.metrics.listen is the auth address;
// other paths go to extra when it is set.
func TestHandlerRoutes(t *testing.T) {
	for _, c := range []struct {
		name          string
		gatehouse     string
		metricsOnAuth bool
	}{
		{name: "metrics on their own port", gatehouse: "gatehouse: {metrics: {listen: ':9464'}}\n"},
		{name: "metrics on the auth port", gatehouse: "gatehouse: {metrics: {listen: '7007'}}\n", metricsOnAuth: true},
		{name: "metrics off on the auth port", gatehouse: "gatehouse: {metrics: {enabled: false, listen: '7007'}}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			gw := build(t, load(t, base+c.gatehouse), Options{})
			extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "extra "+r.URL.Path) })
			for _, h := range []struct {
				name  string
				extra http.Handler
			}{{"without extra", nil}, {"with extra", extra}} {
				srv := httptest.NewServer(gw.Handler(h.extra))
				if code, body := get(t, srv.URL+"/api/auth/.well-known/openid-configuration"); code != 200 || !strings.Contains(body, `"issuer":"http://localhost:7007/api/auth"`) {
					t.Errorf("%s: openid-configuration %d %s", h.name, code, body)
				}
				if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, "alive") {
					t.Errorf("%s: /healthz %d %s", h.name, code, body)
				}
				if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"name":"signing-keys","ok":true`) {
					t.Errorf("%s: /readyz %d %s", h.name, code, body)
				}
				code, body := get(t, srv.URL+"/metrics")
				if served := code == 200 && strings.Contains(body, "gatehouse_"); served != c.metricsOnAuth {
					t.Errorf("%s: /metrics %d, served %v, want %v", h.name, code, served, c.metricsOnAuth)
				}
				code, body = get(t, srv.URL+"/elsewhere")
				if fromExtra := body == "extra /elsewhere"; fromExtra != (h.extra != nil) {
					t.Errorf("%s: /elsewhere %d %q", h.name, code, body)
				}
				srv.Close()
			}
		})
	}
}

// TestOpsHandler: the operations listener serves /metrics, /healthz and
// /readyz; Stopping turns /readyz to 503 with its reason.
func TestOpsHandler(t *testing.T) {
	gw := build(t, load(t, base), Options{})
	srv := httptest.NewServer(gw.OpsHandler())
	defer srv.Close()
	if code, body := get(t, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "gatehouse_signing_keys_published") {
		t.Errorf("/metrics %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"name":"config","ok":true`) {
		t.Errorf("/readyz %d %s", code, body)
	}
	gw.Stopping("maintenance")
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "maintenance") {
		t.Errorf("/readyz while stopping: %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz while stopping: %d, want alive", code)
	}
}

// TestServeShutsDownCleanly: Serve answers on its listeners until ctx
// ends; then /readyz answers 503 while in-flight requests finish, and the
// closers run after them; Serve returns nil.
func TestServeShutsDownCleanly(t *testing.T) {
	ln, mln := localListener(t), localListener(t)
	gw := build(t, load(t, base+"gatehouse: {metrics: {listen: '127.0.0.1:1'}}\n"), Options{Listener: ln, MetricsListener: mln})
	var order []string
	gw.OnClose("first", func(context.Context) error { order = append(order, "first"); return nil })
	closed := make(chan struct{})
	gw.OnClose("second", func(context.Context) error { order = append(order, "second"); close(closed); return nil })

	entered, release := make(chan struct{}), make(chan struct{})
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			http.NotFound(w, r)
			return
		}
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	logs := newLogWatch()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- gw.Serve(ctx, extra, logs.logger()) }()

	auth, ops := "http://"+ln.Addr().String(), "http://"+mln.Addr().String()
	if code, _ := get(t, auth+"/healthz"); code != 200 {
		t.Errorf("auth /healthz %d", code)
	}
	if code, body := get(t, ops+"/readyz"); code != 200 {
		t.Errorf("ops /readyz %d %s", code, body)
	}
	if code, body := get(t, ops+"/metrics"); code != 200 || !strings.Contains(body, "gatehouse_") {
		t.Errorf("ops /metrics %d", code)
	}
	if code, _ := get(t, auth+"/metrics"); code == 200 {
		t.Error("/metrics on the auth port while it has its own")
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := client.Get(auth + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	<-entered
	cancel()
	<-logs.when("shutting down: no new connections; finishing in-flight requests")
	if code, body := get(t, ops+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("ops /readyz while draining: %d %s", code, body)
	}
	select {
	case <-closed:
		t.Error("closers ran before the in-flight request finished")
	default:
	}
	close(release)
	if got := <-slow; got != "finished" {
		t.Errorf("the in-flight request got %q", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	<-closed
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("closers ran in order %v, want newest first", order)
	}
	if _, err := client.Get(ops + "/readyz"); err == nil {
		t.Error("the ops listener still answers after Serve returned")
	}
	if log := logs.String(); !strings.Contains(log, "shutdown complete") || !strings.Contains(log, "closed what=second") {
		t.Errorf("log:\n%s", log)
	}
}

// TestServeFailures: Serve returns an error, having logged why, when it
// cannot listen, cannot serve metrics, has an unusable certificate or its
// listener fails.
func TestServeFailures(t *testing.T) {
	busy := localListener(t)
	busyAddr := busy.Addr().String()
	_, busyPort, _ := net.SplitHostPort(busyAddr)
	for _, c := range []struct {
		name   string
		yaml   string
		opts   func(t *testing.T) Options
		mutate func(gw *Gateway)
		log    string
	}{
		{
			name: "the auth address is taken",
			yaml: "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007, listen: {host: 127.0.0.1, port: " + busyPort + "}}\ngatehouse: {metrics: {enabled: false}}\n",
			opts: func(*testing.T) Options { return Options{} },
			log:  "cannot listen",
		},
		{
			name: "the metrics address is taken",
			yaml: base + "gatehouse: {metrics: {listen: '" + busyAddr + "'}}\n",
			opts: func(t *testing.T) Options { return Options{Listener: localListener(t)} },
			log:  "cannot serve metrics",
		},
		{
			name: "an unusable certificate",
			yaml: base + "gatehouse: {metrics: {enabled: false}}\n",
			opts: func(t *testing.T) Options { return Options{Listener: localListener(t)} },
			// Loading refuses a bad PEM pair; this is Serve's own guard.
			mutate: func(gw *Gateway) {
				gw.cfg.Backend.HTTPS.Enabled = true
				gw.cfg.Backend.HTTPS.Cert, gw.cfg.Backend.HTTPS.Key = "not a certificate", "not a key"
			},
			log: "cannot serve https",
		},
		{
			name: "the listener fails",
			yaml: base + "gatehouse: {metrics: {enabled: false}}\n",
			opts: func(t *testing.T) Options {
				ln := localListener(t)
				ln.Close()
				return Options{Listener: ln}
			},
			log: "server stopped",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts(t)
			gw := build(t, load(t, c.yaml), opts)
			if c.mutate != nil {
				c.mutate(gw)
			}
			logs := newLogWatch()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := gw.Serve(ctx, nil, logs.logger())
			if !errors.Is(err, errLogged) || !strings.Contains(logs.String(), c.log) {
				t.Errorf("Serve = %v; log:\n%s\nwant %q logged", err, logs.String(), c.log)
			}
			// Nothing Serve was handed keeps listening after it failed.
			if opts.Listener != nil {
				if conn, err := net.Dial("tcp", opts.Listener.Addr().String()); err == nil {
					conn.Close()
					t.Error("the auth listener is still open after Serve failed")
				}
			}
		})
	}
}
