package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/requestid"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// errLogged is returned by Serve for a failure it has already logged.
var errLogged = errors.New("gatehouse could not serve; the log says why")

// Serve listens on backend.listen (and gatehouse.metrics.listen) and serves
// until ctx ends, then drains in-flight requests for up to
// gatehouse.shutdown.gracePeriod and closes what Build opened. extra, when
// set, serves every path outside /api/auth (the demo page). It returns nil
// after a clean shutdown; an error means it could not serve, and the error
// has been logged.
func (gw *Gateway) Serve(ctx context.Context, extra http.Handler, logger *slog.Logger) error {
	addr := net.JoinHostPort(gw.cfg.Backend.Listen.Host, strconv.Itoa(gw.cfg.Backend.Listen.Port))
	ln, err := gw.listen(addr)
	if err != nil {
		logger.Error("cannot listen", "addr", addr, "error", err)
		return errLogged
	}
	go gw.discoverAll(ctx, logger)
	go gw.WatchModules(ctx, logger)
	go gw.sweepOAuth(ctx, gw.oauthSweep, logger)
	stopOps, err := gw.startOpsServer(addr, logger)
	if err != nil {
		ln.Close()
		logger.Error("cannot serve metrics", "addr", gw.cfg.Ops.MetricsListen, "error", err)
		return errLogged
	}
	defer stopOps()
	// backend.https and backend.limits (listener.go).
	if ln, err = WrapListener(ln, gw.cfg); err != nil {
		// WrapListener hands back the plain listener on error; close it
		// as the metrics failure above does, so that nothing listens on
		// after Serve has failed.
		ln.Close()
		logger.Error("cannot serve https", "error", err)
		return errLogged
	}
	for _, w := range httpsWarnings(gw.cfg) {
		logger.Warn(w)
	}
	srv := &http.Server{Handler: gw.Handler(extra)}
	ApplyLimits(srv, gw.cfg.Backend.Limits)
	logger.Info("gatehouse listening", "addr", ln.Addr().String(), "auth", AuthBaseURL(gw.cfg))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("server stopped", "error", err)
		return errLogged
	case <-ctx.Done():
	}
	gw.shutdown(srv, logger)
	return nil
}

// Handler mounts the auth routes at /api/auth (and the authorization
// server's root routes), /healthz and /readyz (and /metrics when it shares
// the auth address), and extra, when set, everywhere else. Every request gets a request id.
func (gw *Gateway) Handler(extra http.Handler) http.Handler {
	mux := http.NewServeMux()
	gw.mountOps(mux)
	mux.Handle("/api/auth/", gw.server.Handler())
	mux.Handle("/api/auth", gw.server.Handler())
	// RFC 8414 metadata in path-insertion form lives at the root, outside
	// /api/auth, where extra would otherwise answer.
	for _, r := range gw.oauth.Routes() {
		if r.Root {
			mux.Handle(r.Method+" "+r.Path, gw.server.Handler())
		}
	}
	if extra != nil {
		mux.Handle("/", extra)
	} else {
		mux.Handle("/", gw.server.Handler())
	}
	return requestid.Middleware(mux)
}

// discoverAll contacts every OIDC IdP once at start-up so that a wrong
// metadataUrl shows in the log at once. Requests retry on their own.
func (gw *Gateway) discoverAll(ctx context.Context, logger *slog.Logger) {
	for id, envs := range gw.envs {
		for env, pe := range envs {
			if d, ok := pe.Provider.(providers.Discoverer); ok {
				if err := d.Discover(ctx); err != nil {
					logger.Warn("IdP discovery failed; requests will retry", "provider", id, "env", env, "error", err)
				}
			}
		}
	}
}
