package cimd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits of a fetch, as Backstage's CimdClient (spec §3.3), and of the
// cache (the answer to §6.9).
const (
	// DefaultTimeout bounds a whole fetch, body included (Backstage: 10 s).
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBytes caps a document's decompressed body (Backstage: 64 KiB).
	DefaultMaxBytes = 64 << 10
	// DefaultMaxAge caps how long a document is cached, whatever its
	// Cache-Control says.
	DefaultMaxAge = 5 * time.Minute
	// DefaultCacheSize bounds the number of cached documents.
	DefaultCacheSize = 1024
)

// Errors of [Fetcher.Fetch]. Their texts are Backstage's client-facing
// messages; the wrapped detail (host, status, cause) is for logs.
var (
	// ErrFetch: network failure, refused address, timeout, redirect or
	// non-2xx status.
	ErrFetch = errors.New("failed to fetch client metadata")
	// ErrTooLarge: Content-Length or body above the size cap.
	ErrTooLarge = errors.New("client metadata document too large")
	// ErrBlockedAddress is wrapped (with ErrFetch) when the dialer refused
	// a non-public address.
	ErrBlockedAddress = errors.New("address is not public")
)

// FetcherOptions configures a [Fetcher]. The zero value is the production
// configuration.
type FetcherOptions struct {
	// Timeout bounds the whole exchange, body included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes caps the (decompressed) body; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxAge caps how long a document is cached; 0 means DefaultMaxAge,
	// negative disables the cache.
	MaxAge time.Duration
	// CacheSize bounds the number of cached documents; 0 means
	// DefaultCacheSize.
	CacheSize int
	// URL decides which client ids are CIMD URLs (http on loopback in
	// development).
	URL URLOptions
	// AllowLoopbackForTesting lets the dialer connect to 127.0.0.0/8 and
	// ::1 — for tests and for a CIMD client served over https on loopback
	// with a test CA. Every other non-public address stays refused.
	AllowLoopbackForTesting bool
	// Trusted, when set and true for a client id, lets its fetch connect to
	// private and loopback addresses too (link-local, unspecified,
	// multicast and broadcast stay refused, so cloud metadata endpoints
	// stay out of reach). Wire it to "the client id matched an exact
	// allowlist entry": Backstage skips its SSRF check for those (spec
	// §3.3), e.g. for a deployment fetching its own CLI document from an
	// internal address.
	Trusted func(clientID string) bool
	// TLSConfig is the TLS client configuration (e.g. RootCAs with a test
	// CA); nil means the system roots. It is cloned.
	TLSConfig *tls.Config
	// Now is the clock of the cache; nil means time.Now.
	Now func() time.Time
}

// Fetcher fetches and validates client metadata documents. It refuses to
// connect to non-public addresses (checked on the resolved address at
// connect time, so DNS rebinding cannot bypass it), follows no redirect,
// uses no proxy, caps time and size, and caches valid documents. It is
// safe for concurrent use.
type Fetcher struct {
	opts    FetcherOptions
	client  *http.Client // refuses every non-public address
	trusted *http.Client // for Trusted client ids; its own connections
	now     func() time.Time

	mu      sync.Mutex
	cache   map[string]cacheEntry
	flights map[string]*flight
}

// flight is one fetch in progress that concurrent callers for the same
// client id wait for, so N simultaneous requests cause one outbound fetch.
type flight struct {
	done    chan struct{}
	client  *Client
	err     error
	waiters int
}

type cacheEntry struct {
	client  *Client
	expires time.Time
}

// NewFetcher returns a Fetcher with opts' defaults filled in.
func NewFetcher(opts FetcherOptions) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var tlsConf *tls.Config
	if opts.TLSConfig != nil {
		tlsConf = opts.TLSConfig.Clone()
	}
	f := &Fetcher{
		opts:    opts,
		now:     now,
		cache:   map[string]cacheEntry{},
		flights: map[string]*flight{},
	}
	f.client = newHTTPClient(opts, tlsConf, addressGuard(opts.AllowLoopbackForTesting))
	f.trusted = newHTTPClient(opts, tlsConf, trustedAddressGuard)
	return f
}

// newHTTPClient builds a client whose dialer checks every address it
// connects to with guard. Trusted and untrusted fetches use separate
// clients so a pooled connection to a private address made for a trusted
// client id is never reused for another.
func newHTTPClient(opts FetcherOptions, tlsConf *tls.Config, guard func(string, string, syscall.RawConn) error) *http.Client {
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: guard}
	return &http.Client{
		Transport: &http.Transport{
			// No proxy: a proxy would connect to the target for us and the
			// guard would only see the proxy's address.
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       tlsConf,
			TLSHandshakeTimeout:   opts.Timeout,
			ResponseHeaderTimeout: opts.Timeout,
			MaxIdleConns:          16,
			IdleConnTimeout:       30 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		},
	}
}

// Fetch returns the validated client for clientID: from the cache while
// its entry is fresh, else by GET with Accept: application/json. Errors
// wrap [ErrNotCIMDURL] (clientID is not a CIMD URL), [ErrFetch] (with
// [ErrBlockedAddress] for a refused address), [ErrTooLarge] or
// [ErrInvalidDocument] (a *[FieldError]). Only valid documents are cached,
// for min(max-age, MaxAge); no-store, no-cache or no max-age means not
// cached. Concurrent calls for the same client id share one fetch; a
// caller whose ctx ends stops waiting (ErrFetch wrapping ctx.Err()) while
// the shared fetch runs on, bounded by Timeout.
func (f *Fetcher) Fetch(ctx context.Context, clientID string) (*Client, error) {
	u, err := ValidateClientIDURL(clientID, f.opts.URL)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if c, ok := f.cachedLocked(clientID); ok {
		f.mu.Unlock()
		return c.clone(), nil
	}
	fl, ok := f.flights[clientID]
	if !ok {
		fl = &flight{done: make(chan struct{})}
		f.flights[clientID] = fl
		go func() {
			c, err := f.fetch(context.WithoutCancel(ctx), clientID, u)
			f.mu.Lock()
			fl.client, fl.err = c, err
			delete(f.flights, clientID)
			f.mu.Unlock()
			close(fl.done)
		}()
	}
	fl.waiters++
	f.mu.Unlock()
	select {
	case <-fl.done:
		if fl.err != nil {
			return nil, fl.err
		}
		return fl.client.clone(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w from %s: %w", ErrFetch, u.Host, ctx.Err())
	}
}

// fetch does one GET of the document and caches a valid result.
func (f *Fetcher) fetch(ctx context.Context, clientID string, u *url.URL) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	hc := f.client
	if f.opts.Trusted != nil && f.opts.Trusted(clientID) {
		hc = f.trusted
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrBlockedAddress) {
			return nil, fmt.Errorf("%w from %s: %w", ErrFetch, u.Host, ErrBlockedAddress)
		}
		return nil, fmt.Errorf("%w from %s: %v", ErrFetch, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w from %s: status %d", ErrFetch, u.Host, resp.StatusCode)
	}
	if resp.ContentLength > f.opts.MaxBytes {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrTooLarge, resp.ContentLength, f.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body from %s: %v", ErrInvalidDocument, u.Host, err)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return nil, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, f.opts.MaxBytes)
	}
	c, err := ParseDocument(clientID, body)
	if err != nil {
		return nil, err
	}
	if age, ok := cacheLifetime(resp.Header.Values("Cache-Control")); ok {
		f.store(clientID, c, min(age, f.opts.MaxAge))
	}
	return c, nil
}

// cacheLifetime reads max-age from Cache-Control; no-store, no-cache, a
// missing or non-positive max-age all mean "do not cache".
func cacheLifetime(values []string) (time.Duration, bool) {
	var age time.Duration
	found := false
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache" || strings.HasPrefix(d, "no-cache="):
				return 0, false
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err != nil || n <= 0 {
					return 0, false
				}
				if n > int64(24*time.Hour/time.Second) {
					n = int64(24 * time.Hour / time.Second)
				}
				age, found = time.Duration(n)*time.Second, true
			}
		}
	}
	return age, found
}

// clone copies c so that callers sharing a cached document cannot change
// each other's view of it.
func (c *Client) clone() *Client {
	d := *c
	d.RedirectURIs = slices.Clone(c.RedirectURIs)
	d.GrantTypes = slices.Clone(c.GrantTypes)
	d.ResponseTypes = slices.Clone(c.ResponseTypes)
	return &d
}

// cachedLocked returns a fresh cache entry; f.mu is held.
func (f *Fetcher) cachedLocked(id string) (*Client, bool) {
	e, ok := f.cache[id]
	if !ok {
		return nil, false
	}
	if !f.now().Before(e.expires) {
		delete(f.cache, id)
		return nil, false
	}
	return e.client, true
}

func (f *Fetcher) store(id string, c *Client, age time.Duration) {
	if age <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if _, ok := f.cache[id]; !ok && len(f.cache) >= f.opts.CacheSize {
		// Full: drop expired entries, then the one expiring first.
		oldest := ""
		for k, e := range f.cache {
			if !now.Before(e.expires) {
				delete(f.cache, k)
			} else if oldest == "" || e.expires.Before(f.cache[oldest].expires) {
				oldest = k
			}
		}
		if len(f.cache) >= f.opts.CacheSize {
			delete(f.cache, oldest)
		}
	}
	f.cache[id] = cacheEntry{client: c, expires: now.Add(age)}
}

// addressGuard is the dialer's Control hook: it runs after name resolution
// with the address about to be connected, so the checked address is the
// connected one.
func addressGuard(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
		}
		addr := ap.Addr().WithZone("")
		if allowLoopback && addr.Unmap().IsLoopback() {
			return nil
		}
		if !IsPublicAddr(addr) {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, addr)
		}
		return nil
	}
}

// trustedAddressGuard refuses, even for trusted client ids, the addresses
// no client metadata document lives at: unspecified, link-local (cloud
// metadata endpoints), multicast and broadcast.
func trustedAddressGuard(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	a := ap.Addr().WithZone("").Unmap()
	if a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		a.Is4() && a.As4()[0] == 0 {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, a)
	}
	return nil
}

// nonPublic are the ranges ipaddr.js 2.5.0 does not call "unicast"
// (spec §3.3): Backstage's definition of a non-public address.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "255.255.255.255/32", "224.0.0.0/4", "169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "192.175.48.0/24",
		"192.31.196.0/24", "192.52.193.0/24",
		"::/128", "fe80::/10", "ff00::/8", "::1/128", "fc00::/7", "::ffff:0:0/96", "fec0::/10", "100::/64",
		"::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "2001:2::/48",
		"2001:3::/32", "2001:4:112::/48", "2620:4f:8000::/48", "2001:10::/28", "2001:20::/28", "2001:30::/28",
		"5f00::/16", "2001::/23", "2001:db8::/32", "3fff::/20",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// IsPublicAddr reports whether a is a public unicast address by
// Backstage's definition (spec §3.3). An IPv4-mapped IPv6 address is
// non-public, as in ipaddr.js, and so is an invalid one.
func IsPublicAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("")
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
