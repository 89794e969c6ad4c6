package catalog_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/backstagetest"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog/catalogtest"
)

// TestBackstageCatalog runs against a real Backstage catalog backend.
// Starting one takes seconds, so one backend holding the conformance
// suite's entities serves every case; each case opens its own client.
func TestBackstageCatalog(t *testing.T) {
	b := backstagetest.Start(t, backstagetest.Options{Entities: catalogtest.Entities()})
	open := func(t *testing.T, base string, ttl time.Duration) *catalog.BackstageCatalog {
		t.Helper()
		c, err := catalog.NewBackstageCatalog(catalog.BackstageConfig{
			BaseURL:     base,
			Credentials: catalog.StaticToken(b.StaticToken),
			CacheTTL:    ttl,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("Conformance", func(t *testing.T) {
		catalogtest.Run(t, func(t *testing.T, _ []catalog.Entity) catalog.Catalog { return open(t, b.CatalogURL, 0) })
	})
	t.Run("ConformanceCached", func(t *testing.T) {
		catalogtest.Run(t, func(t *testing.T, _ []catalog.Entity) catalog.Catalog { return open(t, b.CatalogURL, time.Minute) })
	})

	t.Run("CacheAndSingleFlight", func(t *testing.T) {
		p := newCatalogProxy(t, b.CatalogURL)
		c := open(t, p.base, time.Minute)
		q := catalog.Query{Filter: []map[string]string{{"spec.profile.email": "alice@example.com"}}}
		p.delay.Store(int64(300 * time.Millisecond))
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e, err := c.FindUser(context.Background(), q); err != nil || catalog.RefOf(e) != "user:default/alice" {
					t.Errorf("concurrent FindUser = %s, %v", catalog.RefOf(e), err)
				}
			}()
		}
		wg.Wait()
		if n := p.requests.Load(); n != 1 {
			t.Errorf("8 identical concurrent lookups made %d catalog requests, want 1", n)
		}
		p.delay.Store(0)
		// The same query spelt differently hits the cache; NotFound is cached
		// too.
		for _, q := range []catalog.Query{
			{Filter: []map[string]string{{"spec.profile.email": "ALICE@example.com"}}},
			{EntityRef: "user:default/nobody"}, {EntityRef: "nobody"},
		} {
			_, _ = c.FindUser(context.Background(), q)
		}
		if n := p.requests.Load(); n != 2 {
			t.Errorf("after cached lookups: %d catalog requests, want 2", n)
		}
		if _, err := c.FindUser(context.Background(), catalog.Query{EntityRef: "NOBODY"}); !autherr.IsNotFound(err) {
			t.Errorf("cached NotFound: %v", err)
		}
	})

	t.Run("SlowCatalog", func(t *testing.T) {
		p := newCatalogProxy(t, b.CatalogURL)
		p.delay.Store(int64(time.Second))
		c := open(t, p.base, time.Minute)
		q := catalog.Query{EntityRef: "eng/bob"}
		// One caller gives up; another, asking the same thing at the same
		// time, still gets its answer from the shared request.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var patient error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, patient = c.FindUser(context.Background(), q)
		}()
		start := time.Now()
		if _, err := c.FindUser(ctx, q); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("impatient caller: %v, want its context's deadline", err)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("impatient caller waited %s", d)
		}
		wg.Wait()
		if patient != nil {
			t.Errorf("patient caller: %v", patient)
		}
		// Slower than the timeout: ServiceUnavailable, not NotFound.
		slow, err := catalog.NewBackstageCatalog(catalog.BackstageConfig{
			BaseURL: p.base, Credentials: catalog.StaticToken(b.StaticToken), Timeout: 200 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := slow.FindUser(context.Background(), catalog.Query{EntityRef: "alice"}); !autherr.Is(err, autherr.NameServiceUnavailable) {
			t.Errorf("catalog slower than the timeout: %v, want ServiceUnavailable", err)
		}
	})
}

// catalogProxy fronts the real catalog, counting requests and delaying
// them on demand.
type catalogProxy struct {
	base     string
	requests atomic.Int64
	delay    atomic.Int64 // nanoseconds
}

func newCatalogProxy(t *testing.T, target string) *catalogProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &catalogProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = u.Scheme, u.Host
		r.Out.Host = u.Host
	}}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		select {
		case <-time.After(time.Duration(p.delay.Load())):
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	p.base = s.URL + u.Path
	return p
}

// BenchmarkBackstageCatalog times a sign-in's lookup against the real
// catalog, uncached and from the cache.
func BenchmarkBackstageCatalog(b *testing.B) {
	bs := backstagetest.Start(b, backstagetest.Options{Entities: catalogtest.Entities()})
	q := catalog.Query{Filter: []map[string]string{{"spec.profile.email": "alice@example.com"}}}
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"uncached", 0}, {"cached", time.Hour}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := catalog.NewBackstageCatalog(catalog.BackstageConfig{
				BaseURL: bs.CatalogURL, Credentials: catalog.StaticToken(bs.StaticToken), CacheTTL: bc.ttl,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.FindUser(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
