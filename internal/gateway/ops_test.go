package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpedge"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// TestSameAddr: /metrics shares the auth listener when the port is the
// same and the hosts are equal or either is all interfaces.
func TestSameAddr(t *testing.T) {
	for _, c := range []struct {
		listen, host string
		port         int
		want         bool
	}{
		{":7007", "", 7007, true},
		{":7007", "127.0.0.1", 7007, true},
		{"127.0.0.1:7007", "", 7007, true},
		{"0.0.0.0:7007", "127.0.0.1", 7007, true},
		{"127.0.0.1:7007", "0.0.0.0", 7007, true},
		{"127.0.0.1:7007", "127.0.0.1", 7007, true},
		{"127.0.0.1:7007", "10.0.0.1", 7007, false},
		{":9464", "", 7007, false},
		{"127.0.0.1:9464", "127.0.0.1", 7007, false},
		{"7007", "", 7007, false}, // not host:port
		{"", "", 7007, false},
	} {
		if got := sameAddr(c.listen, c.host, c.port); got != c.want {
			t.Errorf("sameAddr(%q, %q, %d) = %v, want %v", c.listen, c.host, c.port, got, c.want)
		}
	}
}

// TestPublishedKeys counts the keys of a JWKS, and fails when the JWKS
// cannot be read or is not one.
func TestPublishedKeys(t *testing.T) {
	for _, c := range []struct {
		body    string
		err     error
		want    int
		wantErr bool
	}{
		{body: `{"keys": []}`, want: 0},
		{body: `{"keys": [{"kid": "a"}, {"kid": "b"}]}`, want: 2},
		{body: `not json`, wantErr: true},
		{err: errors.New("store down"), wantErr: true},
	} {
		n, err := jwksKeys{jwks: func(context.Context) ([]byte, error) { return []byte(c.body), c.err }}.PublishedKeys(context.Background())
		if n != c.want || (err != nil) != c.wantErr {
			t.Errorf("%q, %v: %d, %v", c.body, c.err, n, err)
		}
	}
}

// TestCloseAllLogsFailures: closers run once, newest first, and a failing
// one is logged without stopping the others.
func TestCloseAllLogsFailures(t *testing.T) {
	ops := &opsState{}
	var order []string
	ops.onClose("a", func(context.Context) error { order = append(order, "a"); return nil })
	ops.onClose("b", func(context.Context) error { order = append(order, "b"); return errors.New("b failed") })
	ops.onClose("c", func(context.Context) error { order = append(order, "c"); return nil })
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ops.closeAll(context.Background(), logger)
	ops.closeAll(context.Background(), logger)
	if strings.Join(order, "") != "cba" {
		t.Errorf("closers ran %v, want c b a once each", order)
	}
	if !strings.Contains(logs.String(), `msg="closing failed" what=b error="b failed"`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestIdPCallsAreCounted: each provider's IdP calls go through
// Options.HTTPClient when set, counted by provider, endpoint and status;
// start-up discovery logs a failure, and /readyz reports it.
func TestIdPCallsAreCounted(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer idp.Close()
	calls := 0
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		calls++
		return http.DefaultTransport.RoundTrip(r)
	})}
	gw := build(t, load(t, base+"auth:\n  session: {secret: test-secret}\n  providers:\n    oidc:\n      development: {metadataUrl: '"+idp.URL+"', clientId: c, clientSecret: s}\n"),
		Options{HTTPClient: hc})

	logs := newLogWatch()
	failed := logs.when("IdP discovery failed; requests will retry")
	gw.discoverAll(context.Background(), logs.logger())
	<-failed
	if calls != 1 {
		t.Errorf("Options.HTTPClient made %d calls, want 1", calls)
	}
	if line := `gatehouse_idp_requests_total{endpoint="discovery",provider="oidc",status="503"} 1`; !scrapes(t, gw, line) {
		t.Errorf("/metrics lacks %s", line)
	}
	srv := httptest.NewServer(gw.Handler(nil))
	defer srv.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, `"name":"discovery:oidc/development","ok":false,"reason":"retrying: `) {
		t.Errorf("/readyz with the IdP down: %d %s", code, body)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWrapListenerAndApplyLimits: backend.https makes the listener speak
// TLS, a bad certificate is an error at its key, and ApplyLimits puts
// backend.limits (or their defaults) on the server.
func TestWrapListenerAndApplyLimits(t *testing.T) {
	cfg := load(t, "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: https://127.0.0.1:7007\n  https: true\n  limits: {readHeaderTimeout: 3s, maxHeaderBytes: 8192}\n")
	ln, err := WrapListener(localListener(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "over "+r.Proto)
	})}
	ApplyLimits(srv, cfg.Backend.Limits)
	want := cfg.Backend.Limits.WithDefaults()
	if srv.ReadHeaderTimeout != 3*time.Second || srv.MaxHeaderBytes != 8192 || srv.ReadTimeout != want.ReadTimeout ||
		srv.WriteTimeout != want.WriteTimeout || srv.IdleTimeout != want.IdleTimeout || srv.ConnContext == nil {
		t.Errorf("server limits %+v, want %+v", srv, want)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := tc.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || string(body) != "over HTTP/1.1" {
		t.Errorf("%d %q over TLS %v", resp.StatusCode, body, resp.TLS != nil)
	}

	def := &http.Server{}
	ApplyLimits(def, httpedge.Limits{})
	if d := (httpedge.Limits{}).WithDefaults(); def.ReadHeaderTimeout != d.ReadHeaderTimeout || def.MaxHeaderBytes != d.MaxHeaderBytes {
		t.Errorf("zero limits: %v %d, want the defaults %v %d", def.ReadHeaderTimeout, def.MaxHeaderBytes, d.ReadHeaderTimeout, d.MaxHeaderBytes)
	}

	cfg.Backend.HTTPS.SelfSigned = false
	cfg.Backend.HTTPS.Cert, cfg.Backend.HTTPS.Key = "not a certificate", "not a key"
	if _, err := WrapListener(localListener(t), cfg); err == nil || !strings.HasPrefix(err.Error(), "backend.https.certificate: ") || strings.Contains(err.Error(), "not a key") {
		t.Errorf("a bad certificate: %v", err)
	}
}

// timeoutConfig is a providers.Config that only sets the IdP timeout.
type timeoutConfig struct{ providers.Config }

func (timeoutConfig) IdPTimeout() time.Duration { return 5 * time.Second }

// TestIdPClientKeepsConnections: without Options.HTTPClient, every
// provider's IdP calls share one transport that keeps a connection per
// concurrent call alive, so rounds of 8 concurrent calls dial 8 connections
// once, not again each round (http.DefaultTransport keeps 2 per host).
func TestIdPClientKeepsConnections(t *testing.T) {
	var mu sync.Mutex
	dialed := 0
	release := make(chan struct{})
	idp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "{}")
	}))
	idp.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dialed++
			mu.Unlock()
		}
	}
	idp.Start()
	defer idp.Close()
	o := Options{Logger: slog.New(slog.DiscardHandler)}
	ops, err := newOps(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer ops.closeAll(context.Background(), o.Logger)
	a, b := ops.idpClient(o, "oidc", timeoutConfig{}), ops.idpClient(o, "vcfsso", timeoutConfig{})
	if a.Timeout != 5*time.Second {
		t.Errorf("timeout %v, want the provider's IdP timeout", a.Timeout)
	}
	const concurrent, rounds = 8, 3
	for range rounds {
		var wg sync.WaitGroup
		for i := range concurrent {
			c := a
			if i%2 == 1 {
				c = b
			}
			wg.Go(func() {
				resp, err := c.Get(idp.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		// Every call holds its connection until all are in flight.
		for range concurrent {
			release <- struct{}{}
		}
		wg.Wait()
	}
	if dialed != concurrent {
		t.Errorf("%d rounds of %d concurrent calls dialled %d connections, want %d", rounds, concurrent, dialed, concurrent)
	}
}
