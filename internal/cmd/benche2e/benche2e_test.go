package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a ')' of its own, as proc(5) allows.
	stat := "4242 (gate house) x) S 1 4242 4242 0 -1 4194560 2156 0 0 0 137 58 0 0 20 0 9 0 1234 1300000000 7700 18446744073709551615\n"
	got, err := parseStatCPU(stat)
	if err != nil || got != 137+58 {
		t.Errorf("parseStatCPU = %d, %v; want 195", got, err)
	}
	for _, bad := range []string{"", "4242 gatehouse S 1", "4242 (g) S 1 2 3", "4242 (g) S 1 4242 4242 0 -1 4194560 2156 0 0 0 x 58 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) = nil error", bad)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := parseSchedstat("1119331 744682 12\n")
	if err != nil || got != 1119331*time.Nanosecond {
		t.Errorf("parseSchedstat = %v, %v", got, err)
	}
	for _, bad := range []string{"", "\n", "-5 1 1", "abc 1 1"} {
		if _, err := parseSchedstat(bad); err == nil {
			t.Errorf("parseSchedstat(%q) = nil error", bad)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t 1300000 kB\nVmHWM:\t   33480 kB\nVmRSS:\t   30100 kB\nThreads:\t9\n"
	if got, err := parseStatusKB(status, "VmHWM"); err != nil || got != 33480 {
		t.Errorf("VmHWM = %d, %v", got, err)
	}
	if got, err := parseStatusKB(status, "VmRSS"); err != nil || got != 30100 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil || !strings.Contains(err.Error(), "no VmSwap") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := parseStatusKB("VmRSS:\t12 MB\n", "VmRSS"); err == nil {
		t.Error("a unit other than kB was accepted")
	}
}

func TestParseMachineBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  100 2 30 5000 40 5 6 7 50 0\ncpu0 50 1 15 2500 20 2 3 3 25 0\nintr 1\n"
	got, err := parseMachineBusy(stat)
	if want := (100 + 2 + 30 + 5 + 6 + 7) * clockTick; err != nil || got != want {
		t.Errorf("parseMachineBusy = %v, %v; want %v", got, err, want)
	}
	if _, err := parseMachineBusy("cpu0 1 2 3 4 5 6 7 8\n"); err == nil {
		t.Error("a per-CPU line was taken for the total")
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := percentile(lat, c.p); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(lat[:1], 0.99); got != time.Millisecond {
		t.Errorf("one sample: %v", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %v", got)
	}
}

func TestFormatting(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 12345 * time.Nanosecond: "12.3 µs", 456789 * time.Nanosecond: "457 µs",
		821 * time.Microsecond: "821 µs", 6090 * time.Microsecond: "6.09 ms", 40 * time.Nanosecond: "40 ns",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 573.4: "573", 1384: "1,384", 26700: "26,700", 1234567.6: "1,234,568"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
	if got := percent(1500*time.Millisecond, time.Second); got != "150 %" {
		t.Errorf("percent = %q", got)
	}
	if got := mib(31 * 1024); got != "31.0 MiB" {
		t.Errorf("mib = %q", got)
	}
}

func TestWriteTableAndSummary(t *testing.T) {
	refresh := cellResult{endpoint: "GET /refresh", conc: 4, wall: 10 * time.Second, requests: 5730,
		p50: 6 * time.Millisecond, p99: 15 * time.Millisecond, gatehouseCPU: 4700 * time.Millisecond,
		idpCPU: 9 * time.Second, generatorCPU: time.Second, otherCPU: 0, rssKB: 30 * 1024, profiled: true}
	jwks := cellResult{endpoint: "GET /jwks", conc: 4, wall: 10 * time.Second, requests: 267000, errors: 2,
		p50: 140 * time.Microsecond, p99: time.Millisecond, gatehouseCPU: 9 * time.Second, generatorCPU: 8 * time.Second, otherCPU: 6 * time.Second, rssKB: 31 * 1024}
	var b strings.Builder
	writeTable(&b, []cellResult{refresh, jwks})
	want := "| endpoint | c | req/s | p50 | p99 | errors | Gatehouse CPU/req | Gatehouse CPU | IdP CPU/req | generator CPU | other CPU | Gatehouse RSS |\n" +
		"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n" +
		"| GET /refresh (profiled) | 4 | 573 | 6.00 ms | 15.00 ms | 0 | 820 µs | 47 % | 1.57 ms | 10 % | 0 % | 30.0 MiB |\n" +
		"| GET /jwks | 4 | 26,700 | 140 µs | 1.00 ms | 2 | 33.7 µs | 90 % | 0 | 80 % | 60 % | 31.0 MiB |\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	writeSummary(&b, summary{conc: 4, refresh: &refresh, jwks: &jwks, refreshMax: &refresh, peakRSSKB: 32 * 1024, ncpu: 2,
		schedCPU: 13700 * time.Millisecond, statCPU: 13690 * time.Millisecond})
	got := b.String()
	for _, s := range []string{
		"| server CPU per refresh (process CPU ÷ refreshes), c=4 | 820 µs |",
		"| refresh throughput, c=4 | 573/s |",
		"| JWKS throughput, c=4 | 26,700/s |",
		"| peak RSS (VmHWM) | 32.0 MiB |",
		"Summary: CPU/refresh 820 µs (c=4) · refresh 573/s (c=4) · JWKS 26,700/s (c=4) · peak RSS 32.0 MiB",
		"the load generator used 80 % of a core against Gatehouse's 90 %",
		"13.7s by thread run times",
		"Warning: other work on this machine used 60 % of a core during GET /jwks c=4",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("summary lacks %q:\n%s", s, got)
		}
	}
	if strings.Contains(got, "during GET /refresh c=4; its figures are noisy") {
		t.Errorf("a quiet cell was warned about:\n%s", got)
	}
}

func TestParseConcurrency(t *testing.T) {
	if got, err := parseConcurrency("1, 4,16"); err != nil || len(got) != 3 || got[1] != 4 {
		t.Errorf("parseConcurrency = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "2000"} {
		if _, err := parseConcurrency(bad); err == nil {
			t.Errorf("parseConcurrency(%q) = nil error", bad)
		}
	}
}
