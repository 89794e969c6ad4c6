package wasm

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/promreg"
)

// Metrics are per-module Prometheus collectors. Labels are the module's
// configured name, the export and an outcome: never user data. A nil
// *Metrics records nothing.
type Metrics struct {
	calls       *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	pool        *prometheus.GaugeVec
	reloads     *prometheus.CounterVec
	compile     *prometheus.HistogramVec
	instantiate *prometheus.HistogramVec
}

// register registers c, or returns the collector already registered under
// its name; other failures are collected in errs.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errs *[]error) C {
	c, err := promreg.Register(reg, c)
	if err != nil {
		*errs = append(*errs, err)
	}
	return c
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_wasm_calls_total",
			Help: "WebAssembly module calls by module, export and outcome (ok, not_found, error, failed).",
		}, []string{"module", "export", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_wasm_call_seconds",
			Help:    "Wall time of one WebAssembly module call.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 4, 10),
		}, []string{"module", "export"}),
		pool: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_wasm_pool_instances",
			Help: "Configured instance pool size per module.",
		}, []string{"module"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_wasm_reloads_total",
			Help: "Module reloads by result (ok, failed).",
		}, []string{"module", "result"}),
		compile: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_wasm_compile_seconds",
			Help:    "Time to compile a module (from the compilation cache when warm).",
			Buckets: prometheus.ExponentialBuckets(1e-4, 4, 9),
		}, []string{"module"}),
		instantiate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_wasm_instantiate_seconds",
			Help:    "Time to instantiate a module (off the request path).",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 9),
		}, []string{"module"}),
	}
	// A registry that already has them (a second gateway built on the
	// same registry) keeps counting in the existing collectors.
	var errs []error
	m.calls = register(reg, m.calls, &errs)
	m.latency = register(reg, m.latency, &errs)
	m.pool = register(reg, m.pool, &errs)
	m.reloads = register(reg, m.reloads, &errs)
	m.compile = register(reg, m.compile, &errs)
	m.instantiate = register(reg, m.instantiate, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

func (m *Metrics) called(module, export, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(module, export, outcome).Inc()
	m.latency.WithLabelValues(module, export).Observe(d.Seconds())
}

func (m *Metrics) poolSize(module string, n int) {
	if m == nil {
		return
	}
	m.pool.WithLabelValues(module).Set(float64(n))
}

func (m *Metrics) reloaded(module string, ok bool) {
	if m == nil {
		return
	}
	r := "ok"
	if !ok {
		r = "failed"
	}
	m.reloads.WithLabelValues(module, r).Inc()
}

func (m *Metrics) compiled(module string, d time.Duration) {
	if m == nil {
		return
	}
	m.compile.WithLabelValues(module).Observe(d.Seconds())
}

func (m *Metrics) instantiated(module string, d time.Duration) {
	if m == nil {
		return
	}
	m.instantiate.WithLabelValues(module).Observe(d.Seconds())
}
