// Package health answers Kubernetes-style probes: /healthz (the process is
// alive) and /readyz (every registered readiness check passes). Both answer
// JSON; /readyz names each check that fails and why.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check returns nil when its part is ready, else an error whose message
// says what is not ready. It must honour ctx and never block past it.
type Check func(ctx context.Context) error

// Checks is a registry of readiness checks. Any package may Add its own
// (IdP discovery, signing keys, WASM modules, the database). It is safe for
// concurrent use.
type Checks struct {
	mu       sync.Mutex
	checks   []named
	stopping string
	// Timeout bounds each check; 0 means 3 seconds.
	Timeout time.Duration
}

type named struct {
	name  string
	check Check
}

// Add registers a check under name; names appear in /readyz's body.
func (c *Checks) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks = append(c.checks, named{name, check})
}

// Stopping makes every later Ready report not ready with reason, so load
// balancers stop sending requests while the server drains.
func (c *Checks) Stopping(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = reason
}

// Result is one check's outcome.
type Result struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Report is /readyz's body.
type Report struct {
	// Status is "ready" or "not ready".
	Status string   `json:"status"`
	Reason string   `json:"reason,omitempty"`
	Checks []Result `json:"checks"`
}

// Ready runs every check concurrently, each bounded by Timeout.
func (c *Checks) Ready(ctx context.Context) Report {
	c.mu.Lock()
	checks := append([]named(nil), c.checks...)
	stopping := c.stopping
	timeout := c.Timeout
	c.mu.Unlock()
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	rep := Report{Status: "ready", Checks: make([]Result, len(checks))}
	var wg sync.WaitGroup
	for i, n := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			rep.Checks[i] = Result{Name: n.name, OK: true}
			if err := run(cctx, n.check); err != nil {
				rep.Checks[i] = Result{Name: n.name, Reason: err.Error()}
			}
		}()
	}
	wg.Wait()
	for _, r := range rep.Checks {
		if !r.OK {
			rep.Status = "not ready"
		}
	}
	if stopping != "" {
		rep.Status, rep.Reason = "not ready", stopping
	}
	return rep
}

// run calls check and answers ctx's error if the check overruns it.
func run(ctx context.Context, check Check) error {
	done := make(chan error, 1)
	go func() { done <- check(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// ReadyHandler answers 200 with the report when ready, else 503.
func (c *Checks) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := c.Ready(r.Context())
		status := http.StatusOK
		if rep.Status != "ready" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rep)
	})
}

// LiveHandler answers 200 {"status":"alive"} while the process serves.
func LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
