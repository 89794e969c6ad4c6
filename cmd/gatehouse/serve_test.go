package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestServeDebugAddrRefusesNonLoopback: --debug-addr on an address other
// machines could reach is a usage error naming the address, before the
// config is even read.
func TestServeDebugAddrRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "[::]:6060", "6060"} {
		code, _, stderr := gatehouse(t, "serve", "--config", "does-not-matter.yaml", "--debug-addr", addr)
		if code != 2 || !strings.Contains(stderr, "--debug-addr") || !strings.Contains(stderr, addr) {
			t.Errorf("--debug-addr %s: exit %d, stderr %q; want 2 naming the address", addr, code, stderr)
		}
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0", "127.0.0.2:1"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", addr, err)
		}
	}
}

// TestServeDebugAddrServesPprof: with --debug-addr 127.0.0.1:0 the running
// server serves the profiler's index there (and not on its auth port).
func TestServeDebugAddrServesPprof(t *testing.T) {
	cfg := sqliteConfig(t)
	stderr := &watchWriter{want: `"msg":"gatehouse listening"`, seen: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"serve", "--config", cfg, "--log-format", "json", "--debug-addr", "127.0.0.1:0"}, &bytes.Buffer{}, stderr)
	}()
	select {
	case <-stderr.seen:
	case code := <-exit:
		t.Fatalf("serve exited %d before listening:\n%s", code, stderr.String())
	}
	log := stderr.String()
	debug := regexp.MustCompile(`"msg":"profiler listening","addr":"([^"]+)"`).FindStringSubmatch(log)
	auth := regexp.MustCompile(`"msg":"gatehouse listening","addr":"([^"]+)"`).FindStringSubmatch(log)
	if debug == nil || auth == nil {
		t.Fatalf("no profiler or auth address in the log:\n%s", log)
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("http://" + debug[1] + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("profiler index: %d %q", code, body)
	}
	if code, _ := get("http://" + debug[1] + "/debug/pprof/heap?debug=1"); code != 200 {
		t.Errorf("heap profile: %d", code)
	}
	if code, _ := get("http://" + auth[1] + "/debug/pprof/"); code == 200 {
		t.Errorf("the auth port serves the profiler too")
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("serve exited %d:\n%s", code, stderr.String())
	}
}
