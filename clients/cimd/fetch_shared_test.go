package cimd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// Concurrent callers for one client id cause one outbound fetch.
func TestFetchSharedFlight(t *testing.T) {
	d := newDocServer(t)
	reached := make(chan struct{}, 1)
	release := make(chan struct{})
	d.set("", func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		select {
		case <-release:
		case <-time.After(hangGuard):
		}
		fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["http://127.0.0.1/cb"]}`, "https://"+r.Host+r.URL.Path)
	})
	f, _ := testFetcher(d, nil)
	id := d.url("/client.json")
	const n = 5
	errs := make(chan error, n)
	fetch := func() {
		_, err := f.Fetch(ctx(t), id)
		errs <- err
	}
	go fetch()
	<-reached
	for range n - 1 {
		go fetch()
	}
	deadline := time.Now().Add(hangGuard)
	for {
		f.mu.Lock()
		w := 0
		if fl := f.flights[id]; fl != nil {
			w = fl.waiters
		}
		f.mu.Unlock()
		if w == n || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if d.hits.Load() != 1 {
		t.Errorf("%d fetches for %d concurrent callers, want 1", d.hits.Load(), n)
	}
	// A caller that gives up does not abort the shared fetch for others.
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Fetch(c, d.url("/other.json")); !errors.Is(err, ErrFetch) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
}

// A trusted client id (an exact allowlist entry) may reach loopback and
// private addresses, never link-local, unspecified, multicast or broadcast.
func TestFetchTrusted(t *testing.T) {
	d := newDocServer(t)
	trustedID := d.url("/.well-known/oauth-client/cli.json")
	f, _ := testFetcher(d, func(o *FetcherOptions) {
		o.AllowLoopbackForTesting = false
		o.Trusted = func(id string) bool { return id == trustedID }
	})
	if _, err := f.Fetch(ctx(t), trustedID); err != nil {
		t.Errorf("trusted: %v", err)
	}
	if _, err := f.Fetch(ctx(t), d.url("/other.json")); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("untrusted on the same host: %v", err)
	}
	for addr, ok := range map[string]bool{
		"127.0.0.1:443": true, "10.0.0.1:443": true, "[fd00::1]:443": true, "93.184.216.34:443": true,
		"169.254.169.254:80": false, "[fe80::1]:443": false, "0.0.0.0:443": false, "0.1.2.3:443": false,
		"[::]:443": false, "224.0.0.1:443": false, "255.255.255.255:443": false, "[ff02::1]:443": false,
		"[::ffff:169.254.169.254]:80": false, "bad": false,
	} {
		if got := trustedAddressGuard("tcp", addr, nil) == nil; got != ok {
			t.Errorf("trusted guard %s: allowed=%v, want %v", addr, got, ok)
		}
	}
}
