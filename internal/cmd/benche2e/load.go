package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one route the generator drives: a name for the table and a
// request each worker builds once and sends over and over.
type endpoint struct {
	name   string
	newReq func(ctx context.Context) (*http.Request, error)
}

// cellResult is what one endpoint × concurrency cell measured.
type cellResult struct {
	endpoint string
	conc     int
	wall     time.Duration
	requests int // answered, 200 or not
	errors   int // transport errors and non-200 answers
	firstErr string
	p50, p99 time.Duration
	// CPU time each process spent during the cell.
	gatehouseCPU, idpCPU, generatorCPU time.Duration
	// otherCPU is the machine's busy time minus the three processes':
	// other work competing for the same cores.
	otherCPU time.Duration
	rssKB    uint64 // Gatehouse's VmRSS at the end of the cell
	profiled bool   // a CPU profile was taken during the cell
}

// perRequest divides a process's CPU time over the cell's requests.
func (r cellResult) perRequest(cpu time.Duration) time.Duration {
	if r.requests == 0 {
		return 0
	}
	return cpu / time.Duration(r.requests)
}

// rate is requests per second of wall time.
func (r cellResult) rate() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.requests) / r.wall.Seconds()
}

// worker is one connection's loop; its latencies are preallocated so the
// hot loop allocates nothing of its own.
type worker struct {
	lat      []time.Duration
	errors   int
	firstErr string
}

// drive sends ep's request from conc workers until d has passed (or stop
// is set) and returns the latencies of every answer (unsorted: the caller
// sorts them once it has read the processes' CPU), the count of answers
// that were not 200 or no answer at all, and the first one's text. Each
// worker keeps one connection (client must allow conc idle connections per
// host) and discards bodies.
func drive(ctx context.Context, client *http.Client, ep endpoint, conc int, d time.Duration, stop *atomic.Bool) (lat []time.Duration, failed int, firstErr string, wall time.Duration, err error) {
	workers := make([]*worker, conc)
	reqs := make([]*http.Request, conc)
	for i := range workers {
		// Room for 40 k requests/s in all for the whole cell, so that
		// append does not grow the slice while the cell runs.
		workers[i] = &worker{lat: make([]time.Duration, 0, max(1024, 40000*int(d.Seconds()+1)/conc))}
		if reqs[i], err = ep.newReq(ctx); err != nil {
			return nil, 0, "", 0, err
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i, w := range workers {
		wg.Go(func() { w.run(client, reqs[i], deadline, stop) })
	}
	wg.Wait()
	wall = time.Since(start)
	n := 0
	for _, w := range workers {
		n += len(w.lat)
	}
	lat = make([]time.Duration, 0, n)
	for _, w := range workers {
		lat = append(lat, w.lat...)
		failed += w.errors
		if firstErr == "" {
			firstErr = w.firstErr
		}
	}
	return lat, failed, firstErr, wall, nil
}

func (w *worker) run(client *http.Client, req *http.Request, deadline time.Time, stop *atomic.Bool) {
	for !stop.Load() {
		t0 := time.Now()
		if !t0.Before(deadline) {
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			if stop.Load() {
				return // interrupted: not the server's error
			}
			w.fail(err.Error())
			w.lat = append(w.lat, time.Since(t0))
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.lat = append(w.lat, time.Since(t0))
		if resp.StatusCode != http.StatusOK {
			w.fail(resp.Status)
		}
	}
}

// fail counts an error and keeps the first one's text for the report.
func (w *worker) fail(what string) {
	if w.errors == 0 {
		w.firstErr = what
	}
	w.errors++
}

// percentile returns the nearest-rank p-quantile (0 < p ≤ 1) of sorted
// latencies, or 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Nearest rank: the smallest value with at least p·n values ≤ it;
	// the epsilon keeps 0.99·100 = 99.00000000000001 at rank 99.
	rank := int(math.Ceil(p*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}
