package main

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// writeTable prints one markdown row per endpoint × concurrency. CPU
// columns: per request is the process's CPU time over the cell divided by
// the cell's requests; % is that CPU time over the cell's wall time (100 %
// = one core busy). "other CPU" is what the rest of the machine ran
// meanwhile, on the same cores.
func writeTable(w io.Writer, rows []cellResult) {
	fmt.Fprintln(w, "| endpoint | c | req/s | p50 | p99 | errors | Gatehouse CPU/req | Gatehouse CPU | IdP CPU/req | generator CPU | other CPU | Gatehouse RSS |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		name := r.endpoint
		if r.profiled {
			name += " (profiled)"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
			name, r.conc, thousands(r.rate()), fmtDur(r.p50), fmtDur(r.p99), r.errors,
			fmtDur(r.perRequest(r.gatehouseCPU)), percent(r.gatehouseCPU, r.wall),
			fmtDur(r.perRequest(r.idpCPU)), percent(r.generatorCPU, r.wall), percent(r.otherCPU, r.wall), mib(r.rssKB))
	}
}

// summary is the table for Gatehouse's column: CPU per refresh and
// the throughputs at the reference concurrency, and peak RSS.
type summary struct {
	conc              int
	refresh, jwks     *cellResult // at conc; nil when not run
	floor             *cellResult // the bare server's JWKS at conc
	peakRSSKB         uint64
	refreshMax        *cellResult // the refresh cell with the most req/s
	schedCPU, statCPU time.Duration
	ncpu              int
}

// writeSummary prints the issue-style table and a one-line summary.
func writeSummary(w io.Writer, s summary) {
	na := "n/a"
	cpuRefresh, refreshRate, jwksRate := na, na, na
	if s.refresh != nil {
		cpuRefresh = fmtDur(s.refresh.perRequest(s.refresh.gatehouseCPU))
		refreshRate = thousands(s.refresh.rate()) + "/s"
	}
	if s.jwks != nil {
		jwksRate = thousands(s.jwks.rate()) + "/s"
	}
	fmt.Fprintf(w, "| | Gatehouse |\n|---|---|\n")
	fmt.Fprintf(w, "| server CPU per refresh (process CPU ÷ refreshes), c=%d | %s |\n", s.conc, cpuRefresh)
	fmt.Fprintf(w, "| refresh throughput, c=%d | %s |\n", s.conc, refreshRate)
	fmt.Fprintf(w, "| JWKS throughput, c=%d | %s |\n", s.conc, jwksRate)
	if s.floor != nil {
		fmt.Fprintf(w, "| the same bytes from a bare net/http server (the floor), c=%d | %s/s at %s CPU/req |\n",
			s.conc, thousands(s.floor.rate()), fmtDur(s.floor.perRequest(s.floor.gatehouseCPU)))
	}
	fmt.Fprintf(w, "| peak RSS (VmHWM) | %s |\n", mib(s.peakRSSKB))
	fmt.Fprintf(w, "\nSummary: CPU/refresh %s (c=%d) · refresh %s (c=%d", cpuRefresh, s.conc, refreshRate, s.conc)
	if s.refreshMax != nil && s.refreshMax != s.refresh {
		fmt.Fprintf(w, "; %s/s at c=%d", thousands(s.refreshMax.rate()), s.refreshMax.conc)
	}
	fmt.Fprintf(w, ") · JWKS %s (c=%d) · peak RSS %s\n", jwksRate, s.conc, mib(s.peakRSSKB))
	for _, r := range []*cellResult{s.refresh, s.jwks} {
		if r != nil && r.otherCPU > r.wall/2 {
			fmt.Fprintf(w, "Warning: other work on this machine used %s of a core during %s c=%d; its figures are noisy: rerun on a quiet machine.\n",
				percent(r.otherCPU, r.wall), r.endpoint, r.conc)
		}
	}
	if j := s.jwks; j != nil && j.generatorCPU > j.gatehouseCPU/2 {
		fmt.Fprintf(w, "Note: during JWKS c=%d the load generator used %s of a core against Gatehouse's %s (other work: %s; %d cores in all): "+
			"the generator shares the cores, so this throughput is partly its limit, not only Gatehouse's.\n",
			j.conc, percent(j.generatorCPU, j.wall), percent(j.gatehouseCPU, j.wall), percent(j.otherCPU, j.wall), s.ncpu)
	}
	fmt.Fprintf(w, "Gatehouse CPU over the whole run: %s by thread run times (schedstat, used above), %s by utime+stime (/proc/<pid>/stat, 10 ms ticks).\n",
		s.schedCPU.Round(time.Millisecond), s.statCPU)
}

// fmtDur prints a latency or CPU time with three significant figures
// where they matter: 1.23 ms, 456 µs, 12.3 µs, 40 ns (an idle IdP's
// background work spread over JWKS requests).
func fmtDur(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	switch {
	case d == 0:
		return "0"
	case us < 1:
		return strconv.FormatInt(int64(d), 10) + " ns"
	case us >= 1000:
		return strconv.FormatFloat(us/1000, 'f', 2, 64) + " ms"
	case us >= 100:
		return strconv.FormatFloat(us, 'f', 0, 64) + " µs"
	default:
		return strconv.FormatFloat(us, 'f', 1, 64) + " µs"
	}
}

// thousands rounds v and groups its digits by three: 26700.4 → "26,700".
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// percent is cpu over wall as a share of one core: "143 %".
func percent(cpu, wall time.Duration) string {
	if wall <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(100*float64(cpu)/float64(wall), 'f', 0, 64) + " %"
}

// mib prints kB as MiB with one decimal.
func mib(kb uint64) string {
	if kb == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64) + " MiB"
}
