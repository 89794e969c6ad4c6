package catalog

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

func TestBackstageRequestMapping(t *testing.T) {
	c, err := NewBackstageCatalog(BackstageConfig{BaseURL: "http://catalog.example.com/api/catalog/"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    Query
		path string
	}{
		{"ref-defaults", Query{EntityRef: "Alice"}, "/entities/by-name/user/default/alice"},
		{"ref-full", Query{EntityRef: "Group:Ops/SRE"}, "/entities/by-name/group/ops/sre"},
		{"ref-escaped", Query{EntityRef: "user:default/a b%"}, "/entities/by-name/user/default/a%20b%25"},
		{"email", Query{Filter: []map[string]string{{"spec.profile.email": "A+b@x.com"}}},
			"/entities?filter=kind=user,spec.profile.email=A%2Bb%40x.com"},
		{"explicit-kind-kept", Query{Filter: []map[string]string{{"Kind": "Group", "metadata.name": "t"}}},
			"/entities?filter=Kind=Group,metadata.name=t"},
		{"or-groups", Query{Filter: []map[string]string{{"metadata.name": "a"}, {"metadata.name": "b,c"}}},
			"/entities?filter=kind=user,metadata.name=a&filter=kind=user,metadata.name=b%2Cc"},
		{"annotations", Query{Annotations: map[string]string{"github.com/user-login": "x=y"}},
			"/entities?filter=kind=user,metadata.annotations.github.com%2Fuser-login=x%3Dy"},
		{"ref-wins", Query{EntityRef: "bob", Filter: []map[string]string{{"metadata.name": "a"}}}, "/entities/by-name/user/default/bob"},
	}
	for _, tc := range cases {
		path, _, err := c.request(tc.q)
		if err != nil || path != tc.path {
			t.Errorf("%s: request(%+v) = %q, %v; want %q", tc.name, tc.q, path, err, tc.path)
		}
	}
	for _, q := range []Query{{}, {Filter: []map[string]string{}}, {Annotations: map[string]string{}}} {
		if _, _, err := c.request(q); !autherr.Is(err, autherr.NameInput) || err.Error() != MsgInvalidQuery {
			t.Errorf("request(%+v) error = %v, want Input %q", q, err, MsgInvalidQuery)
		}
	}
	if _, _, err := c.request(Query{EntityRef: "user:"}); !autherr.Is(err, autherr.NameInput) {
		t.Errorf("malformed ref: %v, want an Input error", err)
	}
}

func TestNewBackstageCatalogRejectsBadConfig(t *testing.T) {
	for _, u := range []string{"", "catalog", "ftp://x/api/catalog", "http:///api/catalog", "http://x/api/catalog?a=b", "http://u:p@x/api/catalog"} {
		_, err := NewBackstageCatalog(BackstageConfig{BaseURL: u})
		if err == nil {
			t.Errorf("base URL %q accepted", u)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := NewBackstageCatalog(BackstageConfig{BaseURL: "http://x/api/catalog", CacheTTL: -time.Second}); err == nil {
		t.Error("a negative cache TTL was accepted")
	}
}

// brokenCatalog is a server that is not a catalog at all: it answers every
// request with h, to stand for a catalog that is failing.
func brokenCatalog(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + "/api/catalog"
}

func mustUnavailable(t *testing.T, err error, base string, contains string) {
	t.Helper()
	if !autherr.Is(err, autherr.NameServiceUnavailable) {
		t.Fatalf("error %v is a %s, want ServiceUnavailableError", err, autherr.NameOf(err))
	}
	if !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not name %s and %q", err, base, contains)
	}
	if autherr.IsNotFound(err) {
		t.Fatal("a broken catalog gave NotFound")
	}
}

func TestBackstageCatalogFailures(t *testing.T) {
	queries := []Query{{EntityRef: "alice"}, {Filter: []map[string]string{{"spec.profile.email": "alice@example.com"}}}}
	t.Run("5xx", func(t *testing.T) {
		for _, code := range []int{500, 502, 503} {
			base := brokenCatalog(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				_, _ = w.Write([]byte(`{"error":{"name":"Error","message":"database is locked"}}`))
			})
			c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base, CacheTTL: time.Minute})
			for _, q := range queries {
				_, err := c.FindUser(context.Background(), q)
				mustUnavailable(t, err, base, "database is locked")
			}
		}
	})
	t.Run("404-on-the-query-endpoint", func(t *testing.T) {
		// A wrong base URL: the lookup must not read as "no such user".
		base := brokenCatalog(t, http.NotFound)
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base})
		_, err := c.FindUser(context.Background(), queries[1])
		mustUnavailable(t, err, base, "HTTP 404")
	})
	t.Run("credentials-refused", func(t *testing.T) {
		var auth string
		base := brokenCatalog(t, func(w http.ResponseWriter, r *http.Request) {
			auth = r.Header.Get("Authorization")
			w.WriteHeader(401)
		})
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base, Credentials: StaticToken("secret-static-token")})
		_, err := c.FindUser(context.Background(), queries[0])
		mustUnavailable(t, err, base, "refused")
		if auth != "Bearer secret-static-token" {
			t.Errorf("Authorization = %q", auth)
		}
		if strings.Contains(err.Error(), "secret-static-token") {
			t.Error("the error shows the token")
		}
	})
	t.Run("not-json", func(t *testing.T) {
		base := brokenCatalog(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>proxy login</html>")) })
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base})
		for _, q := range queries {
			_, err := c.FindUser(context.Background(), q)
			mustUnavailable(t, err, base, "something other than")
		}
	})
	t.Run("down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String() + "/api/catalog"
		ln.Close()
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base})
		_, err = c.FindUser(context.Background(), queries[1])
		mustUnavailable(t, err, base, "unavailable")
		if strings.Contains(err.Error(), "alice%40example.com") || strings.Contains(err.Error(), "alice@example.com") {
			t.Errorf("the error repeats the lookup URL with the user's email: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		base := brokenCatalog(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		reg := prometheus.NewRegistry()
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base, Timeout: 200 * time.Millisecond, Registerer: reg})
		start := time.Now()
		_, err := c.FindUser(context.Background(), queries[0])
		mustUnavailable(t, err, base, "did not answer within 200ms")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the lookup took %s with a 200ms timeout", d)
		}
		if n := counterValue(t, c.metrics.lookups.WithLabelValues("unavailable", "catalog")); n != 1 {
			t.Errorf("unavailable lookups = %v, want 1", n)
		}
	})
	t.Run("caller-cancels", func(t *testing.T) {
		release := make(chan struct{})
		base := brokenCatalog(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(503)
		})
		defer close(release)
		c, _ := NewBackstageCatalog(BackstageConfig{BaseURL: base, Timeout: 10 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.FindUser(ctx, queries[0])
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("FindUser with a done context: %v, want the context's error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("FindUser returned %s after its context ended", d)
		}
		done, cancelNow := context.WithCancel(context.Background())
		cancelNow()
		if _, err := c.FindUser(done, queries[0]); !errors.Is(err, context.Canceled) {
			t.Errorf("FindUser with a cancelled context: %v", err)
		}
	})
}

func TestBackstageMetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewBackstageCatalog(BackstageConfig{BaseURL: "http://x/api/catalog", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBackstageCatalog(BackstageConfig{BaseURL: "http://y/api/catalog", Registerer: reg})
	if err != nil {
		t.Fatalf("a second catalog on one registry: %v", err)
	}
	_, _ = a.FindUser(context.Background(), Query{})
	_, _ = b.FindUser(context.Background(), Query{})
	if n := counterValue(t, a.metrics.lookups.WithLabelValues("invalid", "none")); n != 2 {
		t.Errorf("invalid lookups on the shared counter = %v, want 2", n)
	}
}

// counterValue reads one counter of a CounterVec.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
