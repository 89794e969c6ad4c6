package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/health"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// opsState is what operators see of a gateway: its Prometheus registry and
// Gatehouse's metrics, the readiness checks, and what to close on shutdown.
//
// Other parts of Gatehouse plug in here during build:
//   - metrics: register collectors on ops.registry (a prometheus.Registerer),
//     named gatehouse_* (metrics.Namespace);
//   - readiness: ops.ready.Add("database", db.Ping);
//   - shutdown: ops.onClose("wasm pools", pools.Close), run in reverse order
//     after in-flight requests have finished.
type opsState struct {
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	ready    *health.Checks

	mu      sync.Mutex
	closers []namedCloser

	// metricsOnAuthPort is set when gatehouse.metrics.listen is the auth
	// address: /metrics is then served there.
	metricsOnAuthPort bool
	// listener and metricsListener, when set (Options), are used instead
	// of listening on the configured addresses.
	listener, metricsListener net.Listener

	// idpTransportOnce makes idpTransport, the transport every provider's
	// IdP calls share unless Options.HTTPClient is set.
	idpTransportOnce sync.Once
	idpTransport     *http.Transport
}

type namedCloser struct {
	name  string
	close func(context.Context) error
}

// newOps makes the registry (o.Registry, else a fresh one with the Go and
// process collectors) and wraps o.Logger so that every line logged with a
// request's context carries its request_id.
func newOps(o *Options) (*opsState, error) {
	o.Logger = slog.New(requestid.NewHandler(o.Logger.Handler()))
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := metrics.New(reg, metrics.Options{Runtime: o.Registry == nil})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &opsState{registry: reg, metrics: m, ready: &health.Checks{}, listener: o.Listener, metricsListener: o.MetricsListener}, nil
}

// onClose adds f to what shutdown closes, after the server has drained.
// Closers run in reverse order of registration.
func (ops *opsState) onClose(name string, f func(context.Context) error) {
	ops.mu.Lock()
	defer ops.mu.Unlock()
	ops.closers = append(ops.closers, namedCloser{name, f})
}

// closeAll runs every closer once, newest first, logging failures.
func (ops *opsState) closeAll(ctx context.Context, logger *slog.Logger) {
	ops.mu.Lock()
	cs := ops.closers
	ops.closers = nil
	ops.mu.Unlock()
	for _, c := range slices.Backward(cs) {
		if err := c.close(ctx); err != nil {
			logger.Warn("closing failed", "what", c.name, "error", err)
		} else {
			logger.Info("closed", "what", c.name)
		}
	}
}

// idpClient is the client provider's calls go through: o.HTTPClient (or
// a client bounded by the provider's IdP timeout) counting and timing them
// (gatehouse_idp_requests_total, gatehouse_idp_request_duration_seconds).
func (ops *opsState) idpClient(o Options, provider string, settings providers.Config) *http.Client {
	base := o.HTTPClient
	if base == nil {
		ops.idpTransportOnce.Do(func() {
			t := newIdPTransport()
			ops.idpTransport = t
			ops.onClose("IdP connections", func(context.Context) error { t.CloseIdleConnections(); return nil })
		})
		base = &http.Client{Timeout: settings.IdPTimeout(), Transport: ops.idpTransport}
	}
	return ops.metrics.IdPClient(provider, base)
}

// idpIdleConnsPerHost is how many idle keep-alive connections the IdP
// transport keeps per IdP host. http.DefaultTransport keeps 2, so beyond two
// concurrent refreshes every IdP call closed its connection and the next one
// dialled again (and, for an https IdP, paid a TLS handshake): CPU on both
// sides spent on connections rather than on requests. 64 covers the
// concurrency one replica sees from a busy Backstage without holding many
// sockets open; idle ones close after IdleConnTimeout.
const idpIdleConnsPerHost = 64

// newIdPTransport is http.DefaultTransport's settings (proxy from the
// environment, dial and TLS timeouts, HTTP/2) with idpIdleConnsPerHost.
func newIdPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idpIdleConnsPerHost
	t.MaxIdleConns = 4 * idpIdleConnsPerHost
	return t
}

// observeChain times each resolver of a provider's chain by name and kind.
func (ops *opsState) observeChain(chain *resolvers.Chain) {
	builtin := resolvers.BuiltinResolvers()
	chain.Observe(func(name string, d time.Duration, err error) {
		kind := metrics.KindWasm
		if _, ok := builtin[name]; ok {
			kind = metrics.KindBuiltin
		}
		ops.metrics.Resolver(name, kind, d, err)
	})
}

// jwksKeys counts the keys of the issuer's JWKS.
type jwksKeys struct {
	jwks func(context.Context) ([]byte, error)
}

func (k jwksKeys) PublishedKeys(ctx context.Context) (int, error) {
	body, err := k.jwks(ctx)
	if err != nil {
		return 0, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return 0, err
	}
	return len(set.Keys), nil
}

// addGatewayChecks registers the readiness checks of the built gateway:
// the config (loaded, or build would have failed), each OIDC provider's
// discovery and the signing-key store; and the published-keys gauge.
func (ops *opsState) addGatewayChecks(gw *Gateway) error {
	ops.metricsOnAuthPort = sameAddr(gw.cfg.Ops.MetricsListen, gw.cfg.Backend.Listen.Host, gw.cfg.Backend.Listen.Port)
	ops.ready.Add("config", func(context.Context) error { return nil })
	ids := make([]string, 0, len(gw.envs))
	for id := range gw.envs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for env, pe := range gw.envs[id] {
			d, ok := pe.Provider.(providers.Discoverer)
			if !ok {
				continue
			}
			// The provider caches a success and retries a failure at most
			// once a second, so probes drive the retries cheaply.
			ops.ready.Add("discovery:"+id+"/"+env, func(ctx context.Context) error {
				if err := d.Discover(ctx); err != nil {
					return fmt.Errorf("retrying: %w", err)
				}
				return nil
			})
		}
	}
	keys := jwksKeys{jwks: gw.tokens.JWKS}
	ops.ready.Add("signing-keys", func(ctx context.Context) error {
		// No key exists before the first sign-in (as in Backstage); what
		// must work is reading the key store that publishes them.
		if _, err := keys.PublishedKeys(ctx); err != nil {
			return fmt.Errorf("the signing-key store cannot be read: %w", err)
		}
		return nil
	})
	if err := metrics.RegisterPublishedKeys(ops.registry, keys); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return err
	}
	return nil
}

// OpsHandler serves /metrics, /healthz and /readyz, as the
// gatehouse.metrics.listen address does; /healthz and /readyz are also on
// the auth port (Handler).
func (gw *Gateway) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(gw.ops.registry))
	mux.Handle("GET /healthz", health.LiveHandler())
	mux.Handle("GET /readyz", gw.ops.ready.ReadyHandler())
	return mux
}

// listen opens the auth listener: the test's listener when one is set.
func (gw *Gateway) listen(addr string) (net.Listener, error) {
	if gw.ops.listener != nil {
		return gw.ops.listener, nil
	}
	return net.Listen("tcp", addr)
}

// mountOps serves /healthz and /readyz next to the auth routes, and
// /metrics too when gatehouse.metrics.listen is the auth address itself.
func (gw *Gateway) mountOps(mux *http.ServeMux) {
	mux.Handle("GET /healthz", health.LiveHandler())
	mux.Handle("GET /readyz", gw.ops.ready.ReadyHandler())
	if gw.cfg.Ops.MetricsEnabled && gw.ops.metricsOnAuthPort {
		mux.Handle("GET /metrics", metrics.Handler(gw.ops.registry))
	}
}

// startOpsServer serves opsHandler on gatehouse.metrics.listen unless
// metrics are off or share the auth address. stop closes it at once:
// scrapes need no draining.
func (gw *Gateway) startOpsServer(authAddr string, logger *slog.Logger) (stop func(), err error) {
	o := gw.cfg.Ops
	if !o.MetricsEnabled || gw.ops.metricsOnAuthPort {
		return func() {}, nil
	}
	ln := gw.ops.metricsListener
	if ln == nil {
		if ln, err = net.Listen("tcp", o.MetricsListen); err != nil {
			return nil, err
		}
	}
	srv := &http.Server{Handler: gw.OpsHandler(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	logger.Info("metrics and probes listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz")
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// shutdown marks the gateway not ready, lets in-flight requests finish
// within gatehouse.shutdown.gracePeriod, then runs the closers (WASM pools,
// database, …).
func (gw *Gateway) shutdown(srv *http.Server, logger *slog.Logger) {
	grace := gw.cfg.Ops.ShutdownGracePeriod
	if grace <= 0 {
		grace = config.DefaultShutdownGracePeriod
	}
	gw.ops.ready.Stopping("shutting down")
	logger.Info("shutting down: no new connections; finishing in-flight requests", "gracePeriod", grace.String())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("in-flight requests did not finish within the grace period", "gracePeriod", grace.String(), "error", err)
		_ = srv.Close()
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelClose()
	gw.ops.closeAll(closeCtx, logger)
	logger.Info("shutdown complete")
}

// sameAddr reports whether the "host:port" listen address is the auth
// listener (same port, and the same host or either on all interfaces).
func sameAddr(listen, authHost string, authPort int) bool {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port != strconv.Itoa(authPort) {
		return false
	}
	return host == authHost || host == "" || authHost == "" || host == "0.0.0.0" || authHost == "0.0.0.0"
}
