package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// secretRecorder wraps Gatehouse's IdP client and remembers every code,
// verifier and token that crossed it, so that the log scan of every
// harness (assertNoSecretsLogged) looks for the real values too.
type secretRecorder struct {
	mu   sync.Mutex
	seen map[string]bool
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *secretRecorder) add(v string) {
	if len(v) < 8 { // too short to be a secret, too likely to match by chance
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
}

func (s *secretRecorder) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.seen))
	for v := range s.seen {
		out = append(out, v)
	}
	return out
}

var secretParams = []string{"code", "code_verifier", "refresh_token", "client_secret", "access_token", "id_token", "token"}

func (s *secretRecorder) client(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	base := out.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if form, err := url.ParseQuery(string(body)); err == nil {
				for _, k := range secretParams {
					s.add(form.Get(k))
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := base.RoundTrip(r)
		if err != nil || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			for _, k := range secretParams {
				if v, ok := fields[k].(string); ok {
					s.add(v)
				}
			}
		}
		return resp, nil
	})
	return &out
}

// scrape reads /metrics from the gateway's ops handler and parses it with
// Prometheus' own text parser.
func scrape(t *testing.T, h *harness) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h.gw.OpsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample sums the samples of family name whose labels include want: the
// value of counters and gauges, the sample count of histograms.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

func TestMetricsAfterSignInFailureAndRefresh(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := newBrowser(t)
	resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	if msg := popupMessage(t, resp, body); msg["response"] == nil {
		t.Fatalf("alice's sign-in failed: %v", msg)
	}
	if id := resp.Header.Get(requestid.Header); len(id) != 24 {
		t.Errorf("X-Request-Id = %q, want a generated 24-hex-digit id", id)
	}
	// carol is at the IdP but not in the catalog: every resolver answers
	// NotFound.
	b2 := newBrowser(t)
	resp, body = b2.login(h, startQuery("development"), "carol", "carol-test-password", "login")
	if name, _ := popupError(t, resp, body); name != "Error" {
		t.Fatalf("carol's sign-in: %s", name)
	}
	if r, m := b.refresh(h, "development"); r.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", r.StatusCode, m)
	}
	// A refresh without a session, as the app makes on load.
	if r, _ := newBrowser(t).refresh(h, "development"); r.StatusCode != 401 {
		t.Fatalf("refresh without a session: %d", r.StatusCode)
	}

	fams := scrape(t, h)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64 // -1: at least one
	}{
		{"gatehouse_sign_ins_total", map[string]string{"provider": "vcfsso", "result": "success"}, 1},
		{"gatehouse_sign_ins_total", map[string]string{"provider": "vcfsso", "result": "not_found"}, 1},
		{"gatehouse_refreshes_total", map[string]string{"provider": "vcfsso", "result": "success"}, 1},
		{"gatehouse_refreshes_total", map[string]string{"provider": "vcfsso", "result": "bad_request"}, 1},
		{"gatehouse_idp_requests_total", map[string]string{"provider": "vcfsso", "endpoint": "discovery", "status": "200"}, 1},
		{"gatehouse_idp_requests_total", map[string]string{"provider": "vcfsso", "endpoint": "token", "status": "200"}, 3},
		{"gatehouse_idp_requests_total", map[string]string{"provider": "vcfsso", "endpoint": "userinfo", "status": "200"}, 3},
		{"gatehouse_idp_request_duration_seconds", map[string]string{"provider": "vcfsso", "endpoint": "token"}, 3},
		{"gatehouse_sign_in_step_duration_seconds", map[string]string{"provider": "vcfsso", "step": "transforms"}, 3},
		{"gatehouse_sign_in_step_duration_seconds", map[string]string{"provider": "vcfsso", "step": "resolve"}, 3},
		{"gatehouse_sign_in_step_duration_seconds", map[string]string{"provider": "vcfsso", "step": "token_signing"}, 2},
		{"gatehouse_resolver_duration_seconds", map[string]string{"resolver": "emailMatchingUserEntityProfileEmail", "kind": "builtin", "outcome": "matched"}, 2},
		{"gatehouse_resolver_duration_seconds", map[string]string{"resolver": "emailMatchingUserEntityProfileEmail", "kind": "builtin", "outcome": "not_found"}, 1},
		{"gatehouse_resolver_duration_seconds", map[string]string{"resolver": "preferredUsernameMatchingUserEntityName", "kind": "builtin", "outcome": "not_found"}, 1},
		{"gatehouse_signing_key_rotations_total", nil, 1},
		{"gatehouse_signing_keys_published", nil, 1},
		{"gatehouse_build_info", nil, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/auth/:provider/start", "method": "GET", "code": "302"}, 2},
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/auth/:provider/handler/frame", "method": "GET", "code": "200"}, 2},
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/auth/:provider/refresh", "method": "GET", "code": "401"}, 1},
		{"gatehouse_http_request_duration_seconds", map[string]string{"route": "/api/auth/:provider/refresh", "method": "GET"}, 2},
		{"go_goroutines", nil, -1},
		{"process_cpu_seconds_total", nil, -1},
	} {
		got, ok := sample(fams, c.name, c.labels)
		if !ok || (c.want >= 0 && got != c.want) {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// Every gatehouse_ metric the Grafana dashboard queries exists.
	dash, err := os.ReadFile(filepath.Join(wasmtest.Root(), "examples/grafana/gatehouse-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`gatehouse_[a-z_]+`).FindAllString(string(dash), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		if _, ok := fams[base]; !ok {
			t.Errorf("the dashboard queries %s, which /metrics does not have", name)
		}
	}
	// No label anywhere carries a user, an email, a token or a raw path.
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				for _, bad := range []string{"alice", "carol", "@", "eyJ", "/vcfsso/", "?"} {
					if strings.Contains(v, bad) {
						t.Errorf("%s has label %s=%q", name, l.GetName(), v)
					}
				}
			}
		}
	}

	// One line per sign-in outcome, with provider, resolver and entity
	// ref, and the request id on every line of a request.
	logs := h.logs.String()
	var signedIn, failed string
	for _, line := range strings.Split(logs, "\n") {
		switch {
		case strings.Contains(line, `msg="signed in"`) && signedIn == "":
			signedIn = line
		case strings.Contains(line, `msg="sign-in failed"`):
			failed = line
		}
	}
	for _, want := range []string{"provider.id=vcfsso", "resolver=emailMatchingUserEntityProfileEmail", "entityRef=user:default/alice", "request_id="} {
		if !strings.Contains(signedIn, want) {
			t.Errorf("the sign-in line %q lacks %s", signedIn, want)
		}
	}
	for _, want := range []string{"provider.id=vcfsso", "result=not_found", "request_id="} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failed sign-in line %q lacks %s", failed, want)
		}
	}
	if !regexp.MustCompile(`msg=refreshed provider.id=vcfsso .*entityRef=user:default/alice request_id=`).MatchString(logs) {
		t.Errorf("no refresh line:\n%s", logs)
	}
	if len(h.secrets.values()) < 4 {
		t.Errorf("the recorder saw only %d codes and tokens", len(h.secrets.values()))
	}
}

func TestRequestIDIsEchoedAndSanitised(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for in, keep := range map[string]bool{"abc-123.x_y:z": true, "has space": false, strings.Repeat("a", 65): false, "": false} {
		req, _ := http.NewRequest("GET", h.base+"/api/auth/vcfsso/start?env=nope", nil)
		req.Header.Set(requestid.Header, in)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get(requestid.Header)
		if keep && got != in || !keep && (got == in || got == "") {
			t.Errorf("X-Request-Id %q → %q", in, got)
		}
	}
}

// gate stands in front of the dev IdP and fails discovery while down.
type gate struct {
	idp  *devidp.IdP
	down atomic.Bool
	srv  *httptest.Server
}

func (g *gate) serve(w http.ResponseWriter, r *http.Request) {
	if g.down.Load() {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	u, _ := url.Parse(g.idp.Issuer())
	resp, err := http.Get(u.Scheme + "://" + u.Host + r.URL.RequestURI())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

type readyReport struct {
	Status string
	Reason string
	Checks []struct {
		Name   string
		OK     bool
		Reason string
	}
}

func getReady(t *testing.T, base string) (int, readyReport) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep readyReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	return resp.StatusCode, rep
}

func TestReadyzFollowsIdPDiscovery(t *testing.T) {
	g := &gate{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	g.down.Store(true)
	h := newHarness(t, harnessOptions{metadataURL: func(idp *devidp.IdP) string {
		g.idp = idp
		u, _ := url.Parse(idp.Issuer())
		return g.srv.URL + u.Path + "/"
	}})

	if resp, err := http.Get(h.base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	status, rep := getReady(t, h.base)
	if status != 503 || rep.Status != "not ready" {
		t.Fatalf("/readyz with discovery failing = %d %+v", status, rep)
	}
	var named bool
	for _, c := range rep.Checks {
		if c.Name == "discovery:vcfsso/development" {
			named = !c.OK && strings.HasPrefix(c.Reason, "retrying: ") && strings.Contains(c.Reason, "discovery") && strings.Contains(c.Reason, g.srv.URL)
		}
		if c.Name == "signing-keys" && !c.OK || c.Name == "config" && !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Reason)
		}
	}
	if !named {
		t.Errorf("/readyz does not say why vcfsso is not ready: %+v", rep)
	}

	g.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The provider retries discovery at most once a second.
		status, rep = getReady(t, h.base)
		if status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != 200 || rep.Status != "ready" {
		t.Fatalf("/readyz once the IdP is back = %d %+v", status, rep)
	}
}

func TestShutdownCompletesInFlightSignIn(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slowToken := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if metrics.EndpointOf(r.URL.Path) == "token" {
			once.Do(func() { close(started); <-release })
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{noServer: true, httpClient: slowToken, metricsListener: mln})
	// The server logs "signed in" before it writes the popup page, so a
	// closer that finds that line ran after the in-flight handler's work.
	// (The client noticing the answer may come later, so it cannot tell.)
	var closedAfter atomic.Bool
	h.gw.OnClose("test resource", func(context.Context) error {
		closedAfter.Store(strings.Contains(h.logs.String(), "signed in"))
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- h.gw.Serve(ctx, nil, slog.New(slog.NewTextHandler(h.logs, nil))) }()

	type outcome struct {
		resp *http.Response
		body []byte
	}
	got := make(chan outcome, 1)
	go func() {
		b := newBrowser(t)
		resp, body := b.login(h, startQuery("development"), "alice", "alice-test-password", "login")
		got <- outcome{resp, body}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the sign-in never reached the IdP's token endpoint")
	}
	cancel() // SIGTERM

	// The listener closes at once; the probes say why.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", h.ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the auth listener is still accepting after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status, rep := getReady(t, "http://"+mln.Addr().String()); status != 503 || rep.Reason != "shutting down" {
		t.Errorf("/readyz while draining = %d %+v", status, rep)
	}

	close(release)
	select {
	case o := <-got:
		msg := popupMessage(t, o.resp, o.body)
		r, ok := msg["response"].(map[string]any)
		if !ok {
			t.Fatalf("the in-flight sign-in failed: %v", msg)
		}
		// The server is gone now, so only the identity is checked here;
		// the token itself is checked in TestSignInPopupFlow.
		bi, _ := r["backstageIdentity"].(map[string]any)
		if id, _ := bi["identity"].(map[string]any); id["userEntityRef"] != "user:default/alice" {
			t.Errorf("the in-flight sign-in answered %v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the in-flight sign-in never finished")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return")
	}
	if !closedAfter.Load() {
		t.Error("the closers did not run after the in-flight sign-in finished")
	}
	if !strings.Contains(h.logs.String(), "shutdown complete") {
		t.Errorf("no shutdown line in the logs:\n%s", h.logs.String())
	}
}

func TestHealthcheckCommand(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", h.base + "/healthz"}, &out, &errOut); code != 0 {
		t.Errorf("healthcheck of a live server = %d: %s %s", code, &out, &errOut)
	}
	h.gw.Stopping("shutting down")
	out.Reset()
	if code := run(context.Background(), []string{"healthcheck", h.base + "/readyz"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "shutting down") {
		t.Errorf("healthcheck of a draining server = %d: %s", code, &out)
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"healthcheck", "http://127.0.0.1:1/healthz"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "connection refused") {
		t.Errorf("healthcheck of nothing = %d: %s", code, &errOut)
	}
}
