// Package metrics holds Gatehouse's Prometheus metrics: sign-in and refresh
// outcomes, per-step latencies, IdP calls, signing keys, HTTP requests on
// the auth routes and build info. Every metric is named gatehouse_* and no
// label ever carries a user, an email, a token or a raw request path.
//
// A nil *Metrics is valid and records nothing, so packages can take one
// unconditionally.
package metrics

import (
	"context"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// Namespace prefixes every Gatehouse metric. Other packages registering
// their own collectors on the same Registerer should use it too.
const Namespace = "gatehouse"

// Sign-in steps timed by StepDuration (label "step").
const (
	StepTransforms   = "transforms"
	StepResolve      = "resolve"
	StepTokenSigning = "token_signing"
)

// Resolver kinds (label "kind" of gatehouse_resolver_duration_seconds).
const (
	KindBuiltin = "builtin"
	KindWasm    = "wasm"
)

// latencyBuckets span a local function call (0.5 ms) to a slow IdP (10 s).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics records Gatehouse's own metrics. It is safe for concurrent use.
type Metrics struct {
	signIns      *prometheus.CounterVec
	refreshes    *prometheus.CounterVec
	shared       *prometheus.CounterVec // refresh.go
	steps        *prometheus.HistogramVec
	resolvers    *prometheus.HistogramVec
	idpRequests  *prometheus.CounterVec
	idpDuration  *prometheus.HistogramVec
	keyRotations prometheus.Counter
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	sessions     *sessionMetrics // sessions.go
}

// KeyCounter reports how many signing keys are published (the JWKS size).
type KeyCounter interface {
	PublishedKeys(ctx context.Context) (int, error)
}

// Options configure New.
type Options struct {
	// Version is reported by gatehouse_build_info; "" reads the module
	// version from the binary's build info.
	Version string
	// Runtime adds the Go and process collectors (go_*, process_*). A
	// process has one registry with them; tests may leave them out.
	Runtime bool
}

// New registers every Gatehouse metric on reg and returns the recorder.
// It fails only when a metric is already registered on reg.
func New(reg prometheus.Registerer, o Options) (*Metrics, error) {
	m := &Metrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sign_ins_total",
			Help: "Sign-ins (the IdP callback at /handler/frame) by provider and result.",
		}, []string{"provider", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "refreshes_total",
			Help: "Session refreshes (/refresh) by provider and result.",
		}, []string{"provider", "result"}),
		shared: newRefreshShared(),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "sign_in_step_duration_seconds",
			Help:    "Time spent in each Gatehouse step of a sign-in or refresh: transforms, resolve (the whole chain), token_signing.",
			Buckets: latencyBuckets,
		}, []string{"provider", "step"}),
		resolvers: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "resolver_duration_seconds",
			Help:    "Time spent in each sign-in resolver by name, kind (builtin or wasm) and outcome (matched, not_found, error).",
			Buckets: latencyBuckets,
		}, []string{"resolver", "kind", "outcome"}),
		idpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "idp_requests_total",
			Help: "HTTP calls to IdPs by provider, endpoint (discovery, jwks, token, userinfo, revocation, other) and status (the HTTP code, or error).",
		}, []string{"provider", "endpoint", "status"}),
		idpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "idp_request_duration_seconds",
			Help:    "Latency of HTTP calls to IdPs by provider and endpoint: the IdP token and userinfo steps of a sign-in.",
			Buckets: latencyBuckets,
		}, []string{"provider", "endpoint"}),
		keyRotations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "signing_key_rotations_total",
			Help: "Signing keys this process minted and published (the first key counts).",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests on the auth routes by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Latency of HTTP requests on the auth routes by route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
	}
	cs := []prometheus.Collector{m.signIns, m.refreshes, m.shared, m.steps, m.resolvers, m.idpRequests,
		m.idpDuration, m.keyRotations, m.httpRequests, m.httpDuration, buildInfo(o.Version)}
	m.sessions = newSessionMetrics()
	cs = append(cs, m.sessions.collectors()...)
	if o.Runtime {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterPublishedKeys registers gatehouse_signing_keys_published, read
// from keys at each scrape (-1 when the key store cannot be read).
func RegisterPublishedKeys(reg prometheus.Registerer, keys KeyCounter) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "signing_keys_published",
		Help: "Public keys in the JWKS that Backstage backends verify tokens with (-1 when the key store cannot be read).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := keys.PublishedKeys(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// buildInfo is gatehouse_build_info{version,revision,goversion} = 1.
func buildInfo(version string) prometheus.Collector {
	revision := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels say which Gatehouse build runs.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. A collector that fails (e.g. no /proc) is left out of the answer
// rather than failing the whole scrape.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// SignIn counts one sign-in outcome. result is the caller's classification
// of it (the server's: success, bad_request, not_allowed, …); metrics
// records the label and does not look at errors itself.
func (m *Metrics) SignIn(provider, result string) {
	if m != nil {
		m.signIns.WithLabelValues(provider, result).Inc()
	}
}

// Refresh counts one refresh outcome, classified by the caller as for SignIn.
func (m *Metrics) Refresh(provider, result string) {
	if m != nil {
		m.refreshes.WithLabelValues(provider, result).Inc()
	}
}

// Step records the duration of one sign-in step (Step* constants).
func (m *Metrics) Step(provider, step string, d time.Duration) {
	if m != nil {
		m.steps.WithLabelValues(provider, step).Observe(d.Seconds())
	}
}

// Resolver records one resolver run; kind is KindBuiltin or KindWasm.
func (m *Metrics) Resolver(name, kind string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "matched"
	switch {
	case autherr.IsNotFound(err):
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	m.resolvers.WithLabelValues(name, kind, outcome).Observe(d.Seconds())
}

// KeyRotated counts one signing key minted and published.
func (m *Metrics) KeyRotated() {
	if m != nil {
		m.keyRotations.Inc()
	}
}

// HTTPRequest records one request on the auth routes. route must be a
// route pattern (e.g. /api/auth/:provider/start), never the raw path.
func (m *Metrics) HTTPRequest(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}
