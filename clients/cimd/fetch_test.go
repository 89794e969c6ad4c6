package cimd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangGuard bounds any wait of these tests; it is never the expected path.
const hangGuard = 30 * time.Second

// docServer is an https server on loopback serving CIMD documents whose
// client_id is the requested URL; handler, when set, replaces the default.
type docServer struct {
	srv     *httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	cc      string // Cache-Control of the default handler
	handler http.HandlerFunc
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	d := &docServer{}
	d.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		d.mu.Lock()
		h, cc := d.handler, d.cc
		d.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["http://127.0.0.1/cb"]}`, "https://"+r.Host+r.URL.Path)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *docServer) set(cc string, h http.HandlerFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cc, d.handler = cc, h
}

// tlsConfig trusts the test server's CA, as a CIMD client on loopback
// with a test CA is configured.
func (d *docServer) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(d.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func (d *docServer) url(path string) string { return d.srv.URL + path }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testFetcher(d *docServer, mod func(*FetcherOptions)) (*Fetcher, *clock) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := FetcherOptions{AllowLoopbackForTesting: true, TLSConfig: d.tlsConfig(), Now: clk.now}
	if mod != nil {
		mod(&o)
	}
	return NewFetcher(o), clk
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return c
}

func TestFetchValid(t *testing.T) {
	d := newDocServer(t)
	f, _ := testFetcher(d, nil)
	id := d.url("/oauth/client.json")
	c, err := f.Fetch(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.RedirectURIs[0] != "http://127.0.0.1/cb" {
		t.Errorf("client = %+v", c)
	}
	// Not a CIMD URL: refused before any request.
	if _, err := f.Fetch(ctx(t), "http://"+d.srv.Listener.Addr().String()+"/x.json"); !errors.Is(err, ErrNotCIMDURL) {
		t.Errorf("http client id: %v", err)
	}
	if d.hits.Load() != 1 {
		t.Errorf("hits = %d", d.hits.Load())
	}
	// Without the test CA the certificate is refused.
	g := NewFetcher(FetcherOptions{AllowLoopbackForTesting: true})
	if _, err := g.Fetch(ctx(t), id); !errors.Is(err, ErrFetch) {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestFetchFailures(t *testing.T) {
	d := newDocServer(t)
	f, _ := testFetcher(d, func(o *FetcherOptions) { o.MaxBytes = 1024 })
	big := strings.Repeat(" ", 2000)
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want error
	}{
		{"status", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) }, ErrFetch},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved.json" {
				http.Redirect(w, r, "/client.json", http.StatusFound)
				return
			}
			fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["http://127.0.0.1/cb"]}`, "https://"+r.Host+r.URL.Path)
		}, ErrFetch},
		{"content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2000")
			fmt.Fprint(w, big)
		}, ErrTooLarge},
		{"streamed", func(w http.ResponseWriter, r *http.Request) {
			for range 4 {
				fmt.Fprint(w, big[:500])
				w.(http.Flusher).Flush()
			}
		}, ErrTooLarge},
		{"not json", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>") }, ErrInvalidDocument},
		{"mismatch", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"client_id":"https://other/x.json","redirect_uris":["http://127.0.0.1/cb"]}`)
		}, ErrInvalidDocument},
	} {
		d.set("", tc.h)
		path := "/client.json"
		if tc.name == "redirect" {
			path = "/moved.json"
		}
		_, err := f.Fetch(ctx(t), d.url(path))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Exactly at the cap is fine.
	d.set("", func(w http.ResponseWriter, r *http.Request) {
		doc := fmt.Sprintf(`{"client_id":%q,"redirect_uris":["http://127.0.0.1/cb"]}`, "https://"+r.Host+r.URL.Path)
		fmt.Fprint(w, doc+strings.Repeat(" ", 1024-len(doc)))
	})
	if _, err := f.Fetch(ctx(t), d.url("/client.json")); err != nil {
		t.Errorf("a body of exactly MaxBytes: %v", err)
	}
}

// The Timeout option bounds the exchange; the handler blocks until the
// client gives up (or the hang guard), so nothing here sleeps.
func TestFetchTimeout(t *testing.T) {
	d := newDocServer(t)
	release := make(chan struct{})
	defer close(release)
	for _, stage := range []string{"headers", "body"} {
		d.set("", func(w http.ResponseWriter, r *http.Request) {
			if stage == "body" {
				w.Header().Set("Content-Length", "100")
				fmt.Fprint(w, `{"client_id":`)
				w.(http.Flusher).Flush()
			}
			select {
			case <-r.Context().Done():
			case <-release:
			case <-time.After(hangGuard):
			}
		})
		f, _ := testFetcher(d, func(o *FetcherOptions) { o.Timeout = 50 * time.Millisecond })
		_, err := f.Fetch(ctx(t), d.url("/slow.json"))
		want := ErrFetch
		if stage == "body" {
			want = ErrInvalidDocument
		}
		if !errors.Is(err, want) {
			t.Errorf("slow %s: got %v, want %v", stage, err, want)
		}
	}
	// The caller's context bounds it too: cancel once the server is reached.
	reached := make(chan struct{}, 1)
	d.set("", func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	f, _ := testFetcher(d, nil)
	c, cancel := context.WithCancel(ctx(t))
	go func() {
		select {
		case <-reached:
		case <-time.After(hangGuard):
		}
		cancel()
	}()
	if _, err := f.Fetch(c, d.url("/slow.json")); !errors.Is(err, ErrFetch) || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
}

func TestFetchCache(t *testing.T) {
	d := newDocServer(t)
	id := d.url("/client.json")
	for _, tc := range []struct {
		cc     string
		fresh  time.Duration // still cached after this
		stale  time.Duration // refetched after this
		cached bool
	}{
		{"max-age=60", 59 * time.Second, 60 * time.Second, true},
		{"public, max-age=3600", 5*time.Minute - time.Second, 5 * time.Minute, true},
		{`max-age="120"`, 119 * time.Second, 120 * time.Second, true},
		{"max-age=99999999999", 5*time.Minute - time.Second, 5 * time.Minute, true},
		{"no-store", 0, 0, false},
		{"max-age=600, no-store", 0, 0, false},
		{"no-cache", 0, 0, false},
		{"max-age=0", 0, 0, false},
		{"max-age=abc", 0, 0, false},
		{"", 0, 0, false},
	} {
		f, clk := testFetcher(d, nil)
		d.set(tc.cc, nil)
		d.hits.Store(0)
		for range 2 {
			if _, err := f.Fetch(ctx(t), id); err != nil {
				t.Fatal(err)
			}
		}
		if !tc.cached {
			if d.hits.Load() != 2 {
				t.Errorf("%q: %d fetches for 2 calls, want 2 (not cached)", tc.cc, d.hits.Load())
			}
			continue
		}
		clk.advance(tc.fresh)
		c, _ := f.Fetch(ctx(t), id)
		c.RedirectURIs[0] = "changed" // a caller's copy, not the cache's
		if c2, _ := f.Fetch(ctx(t), id); c2.RedirectURIs[0] != "http://127.0.0.1/cb" {
			t.Errorf("%q: a caller changed the cached client", tc.cc)
		}
		if d.hits.Load() != 1 {
			t.Errorf("%q: %d fetches after %v, want 1", tc.cc, d.hits.Load(), tc.fresh)
		}
		clk.advance(tc.stale - tc.fresh)
		f.Fetch(ctx(t), id)
		if d.hits.Load() != 2 {
			t.Errorf("%q: %d fetches after %v, want 2", tc.cc, d.hits.Load(), tc.stale)
		}
	}
	// Invalid documents are not cached.
	f, _ := testFetcher(d, nil)
	d.set("", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, `{}`)
	})
	d.hits.Store(0)
	f.Fetch(ctx(t), id)
	f.Fetch(ctx(t), id)
	if d.hits.Load() != 2 {
		t.Errorf("invalid document cached: %d fetches", d.hits.Load())
	}
	// MaxAge < 0 disables the cache.
	f, _ = testFetcher(d, func(o *FetcherOptions) { o.MaxAge = -1 })
	d.set("max-age=60", nil)
	d.hits.Store(0)
	f.Fetch(ctx(t), id)
	f.Fetch(ctx(t), id)
	if d.hits.Load() != 2 {
		t.Errorf("MaxAge<0 cached: %d fetches", d.hits.Load())
	}
}

func TestFetchCacheBounded(t *testing.T) {
	d := newDocServer(t)
	d.set("max-age=60", nil)
	f, clk := testFetcher(d, func(o *FetcherOptions) { o.CacheSize = 2 })
	a, b, c := d.url("/a.json"), d.url("/b.json"), d.url("/c.json")
	f.Fetch(ctx(t), a)
	clk.advance(time.Second)
	f.Fetch(ctx(t), b)
	f.Fetch(ctx(t), c) // evicts a, the first to expire
	if n := len(f.cache); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
	d.hits.Store(0)
	f.Fetch(ctx(t), b)
	f.Fetch(ctx(t), c)
	if d.hits.Load() != 0 {
		t.Errorf("b and c refetched: %d", d.hits.Load())
	}
	f.Fetch(ctx(t), a)
	if d.hits.Load() != 1 {
		t.Errorf("a not refetched: %d", d.hits.Load())
	}
	// Expired entries go first when full.
	clk.advance(2 * time.Minute)
	f.Fetch(ctx(t), d.url("/d.json"))
	if n := len(f.cache); n != 1 {
		t.Errorf("after expiry the cache holds %d entries, want 1", n)
	}
}

// Without AllowLoopbackForTesting the dialer refuses non-public addresses
// at connect time. "localhost" proves the check sees the resolved address,
// not the name: a name-based check would let it through.
func TestFetchRefusesNonPublicAddresses(t *testing.T) {
	d := newDocServer(t)
	_, port, _ := net.SplitHostPort(d.srv.Listener.Addr().String())
	f, _ := testFetcher(d, func(o *FetcherOptions) { o.AllowLoopbackForTesting = false })
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port,
		"10.0.0.1:443", "169.254.169.254:443", "0.0.0.0:" + port, "192.168.1.1:443", "[fe80::1]:443", "[::ffff:127.0.0.1]:" + port} {
		_, err := f.Fetch(ctx(t), "https://"+host+"/client.json")
		if !errors.Is(err, ErrBlockedAddress) || !errors.Is(err, ErrFetch) {
			t.Errorf("%s: got %v, want ErrBlockedAddress", host, err)
		}
	}
	if d.hits.Load() != 0 {
		t.Errorf("the server was reached %d times", d.hits.Load())
	}
	// With it, loopback works but the other private ranges stay refused.
	g, _ := testFetcher(d, nil)
	if _, err := g.Fetch(ctx(t), "https://10.0.0.1:443/client.json"); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("10.0.0.1 with loopback allowed: %v", err)
	}
}

func TestAddressGuard(t *testing.T) {
	strict, loop := addressGuard(false), addressGuard(true)
	for _, tc := range []struct {
		addr             string
		strictOK, loopOK bool
	}{
		{"127.0.0.1:443", false, true},
		{"127.9.9.9:443", false, true},
		{"[::1]:443", false, true},
		{"[::ffff:127.0.0.1]:443", false, true},
		{"10.1.2.3:443", false, false},
		{"169.254.169.254:80", false, false},
		{"0.0.0.0:443", false, false},
		{"[::]:443", false, false},
		{"100.64.0.1:443", false, false},
		{"172.16.0.1:443", false, false},
		{"224.0.0.1:443", false, false},
		{"[fd00::1]:443", false, false},
		{"[fe80::1%eth0]:443", false, false},
		{"[64:ff9b::a00:1]:443", false, false},
		{"[2001:db8::1]:443", false, false},
		{"93.184.216.34:443", true, true},
		{"[2606:4700::1111]:443", true, true},
		{"not-an-address", false, false},
	} {
		if got := strict("tcp", tc.addr, nil) == nil; got != tc.strictOK {
			t.Errorf("strict %s: allowed=%v", tc.addr, got)
		}
		if got := loop("tcp", tc.addr, nil) == nil; got != tc.loopOK {
			t.Errorf("loopback-allowed %s: allowed=%v", tc.addr, got)
		}
	}
	if IsPublicAddr(netip.Addr{}) {
		t.Error("the invalid address is public")
	}
}
