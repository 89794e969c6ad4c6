package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/neterr"
	"github.com/gatehouse-auth/gatehouse/internal/promreg"
)

// ServiceCredentials gives the bearer token for a call to another Backstage
// plugin. identity.PluginKeys (plugin tokens) and StaticToken implement it.
type ServiceCredentials interface {
	// ServiceToken returns a token that targetPluginID accepts.
	ServiceToken(ctx context.Context, targetPluginID string) (string, error)
}

// StaticToken is a fixed token, as listed under Backstage's
// backend.auth.externalAccess with type static.
type StaticToken string

var _ ServiceCredentials = StaticToken("")

// ServiceToken returns the token itself, whatever the target.
func (s StaticToken) ServiceToken(context.Context, string) (string, error) { return string(s), nil }

// Defaults of BackstageConfig.
const (
	DefaultBackstageTimeout = 10 * time.Second
	// maxCacheEntries bounds the cache; past it, expired entries are swept
	// and, if that frees nothing, the cache starts over.
	maxCacheEntries = 10000
	// maxResponseBytes bounds one catalog answer.
	maxResponseBytes = 16 << 20
)

// BackstageConfig opens a BackstageCatalog.
type BackstageConfig struct {
	// BaseURL is the catalog plugin's base, e.g.
	// http://backstage:7007/api/catalog (required, http or https).
	BaseURL string
	// Credentials authenticate each call; nil sends no Authorization header.
	Credentials ServiceCredentials
	// PluginID is the target plugin id credentials are asked for; default
	// "catalog".
	PluginID string
	// HTTPClient makes the calls; default a new client without a timeout of
	// its own (Timeout bounds each lookup).
	HTTPClient *http.Client
	// Timeout bounds one lookup against the catalog; default 10s.
	Timeout time.Duration
	// CacheTTL keeps each query's answer (a user, NotFound or Conflict; never
	// an unavailable catalog) this long; 0 turns the cache off.
	CacheTTL time.Duration
	// Registerer receives the metrics; nil registers none. Collectors that
	// are already registered (a second catalog on one registry) are shared.
	Registerer prometheus.Registerer
	// Now is for tests; default time.Now.
	Now func() time.Time
}

// BackstageCatalog asks a Backstage catalog backend for users, exactly as
// Backstage's auth backend does (auth-node's CatalogAuthResolverContext,
// findCatalogUser): entity refs by
// GET /entities/by-name/<kind>/<ns>/<name>, filters and annotations by
// GET /entities?filter=... with kind=user added. Identical concurrent
// lookups share one request, and answers are cached for CacheTTL. A catalog
// that is down, slow or answers 5xx yields a ServiceUnavailable error naming
// its URL, never NotFound. It is safe for concurrent use.
type BackstageCatalog struct {
	cfg     BackstageConfig
	base    string
	group   singleflight.Group
	metrics *catalogMetrics

	mu    sync.Mutex
	cache map[string]cacheEntry
}

var _ Catalog = (*BackstageCatalog)(nil)

// cacheEntry is one query's answer: the matched entity's JSON, or a
// NotFound/Conflict error.
type cacheEntry struct {
	body    []byte
	err     error
	expires time.Time
}

// NewBackstageCatalog checks cfg and returns a catalog. It contacts nothing.
func NewBackstageCatalog(cfg BackstageConfig) (*BackstageCatalog, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("catalog base URL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("catalog base URL %q must have no query, fragment or user info", u.Redacted())
	}
	if cfg.PluginID == "" {
		cfg.PluginID = "catalog"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultBackstageTimeout
	}
	if cfg.CacheTTL < 0 {
		return nil, fmt.Errorf("catalog cache TTL %s must not be negative", cfg.CacheTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newCatalogMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &BackstageCatalog{
		cfg:     cfg,
		base:    strings.TrimSuffix(cfg.BaseURL, "/"),
		metrics: m,
		cache:   map[string]cacheEntry{},
	}, nil
}

// BaseURL returns the catalog base the lookups go to, without a trailing
// slash.
func (c *BackstageCatalog) BaseURL() string { return c.base }

// FindUser returns the single entity matching q, asked of the Backstage
// catalog; precedence and errors are those of FileCatalog.FindUser. It
// returns ServiceUnavailable naming the catalog URL when the catalog is
// unreachable, answers 5xx, rejects Gatehouse's credentials or does not
// answer within the timeout; when ctx ends first it returns ctx.Err().
func (c *BackstageCatalog) FindUser(ctx context.Context, q Query) (*Entity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, key, err := c.request(q)
	if err != nil {
		c.metrics.lookups.WithLabelValues(outcomeOf(err), "none").Inc()
		return nil, err
	}
	if body, err, ok := c.cached(key); ok {
		c.metrics.lookups.WithLabelValues(outcomeOf(err), "cache").Inc()
		return decodeEntity(body, err)
	}
	// The shared request runs on its own deadline, not the first caller's
	// context, so one caller giving up does not fail the others; each caller
	// still returns as soon as its own context ends.
	ch := c.group.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		start := c.cfg.Now()
		body, err := c.fetch(fctx, path)
		c.metrics.latency.WithLabelValues(outcomeOf(err)).Observe(c.cfg.Now().Sub(start).Seconds())
		if err == nil || autherr.IsNotFound(err) || autherr.Is(err, autherr.NameConflict) {
			c.store(key, body, err)
		}
		return body, err
	})
	select {
	case <-ctx.Done():
		c.metrics.lookups.WithLabelValues("canceled", "none").Inc()
		return nil, ctx.Err()
	case r := <-ch:
		// Every caller counts once, including those that shared a request.
		c.metrics.lookups.WithLabelValues(outcomeOf(r.Err), "catalog").Inc()
		body, _ := r.Val.([]byte)
		return decodeEntity(body, r.Err)
	}
}

// decodeEntity returns a fresh Entity from body, so no caller shares
// another's (or the cache's) maps.
func decodeEntity(body []byte, err error) (*Entity, error) {
	if err != nil {
		return nil, err
	}
	var e Entity
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("catalog: decoding a cached entity: %w", err)
	}
	return &e, nil
}

// request maps q to the catalog path (with query string) to GET and to the
// cache key, following findCatalogUser's precedence: EntityRef, then
// Annotations, then Filter.
func (c *BackstageCatalog) request(q Query) (path, key string, err error) {
	switch {
	case q.EntityRef != "":
		ref, err := ParseEntityRef(q.EntityRef, "User", DefaultNamespace)
		if err != nil {
			return "", "", err
		}
		// Lower-cased: the catalog matches refs case-insensitively, and one
		// cache entry then serves every spelling.
		p := "/entities/by-name/" + url.PathEscape(strings.ToLower(ref.Kind)) + "/" +
			url.PathEscape(strings.ToLower(ref.Namespace)) + "/" + url.PathEscape(strings.ToLower(ref.Name))
		return p, p, nil
	case len(q.Annotations) > 0:
		g := map[string]string{"kind": "user"}
		for k, v := range q.Annotations {
			g["metadata.annotations."+k] = v
		}
		p := "/entities?" + filterParams([]map[string]string{g})
		return p, strings.ToLower(p), nil
	case len(q.Filter) > 0:
		groups := make([]map[string]string, 0, len(q.Filter))
		for _, f := range q.Filter {
			g := make(map[string]string, len(f)+1)
			hasKind := false
			for k, v := range f {
				g[k] = v
				hasKind = hasKind || strings.EqualFold(k, "kind")
			}
			if !hasKind {
				g["kind"] = "user"
			}
			groups = append(groups, g)
		}
		p := "/entities?" + filterParams(groups)
		return p, strings.ToLower(p), nil
	}
	return "", "", autherr.Input(MsgInvalidQuery)
}

// filterParams writes groups as the catalog client does: one `filter`
// parameter per group, its key=value pairs joined by commas, keys and values
// escaped as encodeURIComponent does. Keys are sorted so equal queries give
// equal URLs.
func filterParams(groups []map[string]string) string {
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("filter=")
		keys := make([]string, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for j, k := range keys {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(encodeURIComponent(k) + "=" + encodeURIComponent(g[k]))
		}
	}
	return b.String()
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

func (c *BackstageCatalog) cached(key string) ([]byte, error, bool) {
	if c.cfg.CacheTTL <= 0 {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok {
		return nil, nil, false
	}
	if !c.cfg.Now().Before(e.expires) {
		delete(c.cache, key)
		return nil, nil, false
	}
	return e.body, e.err, true
}

func (c *BackstageCatalog) store(key string, body []byte, err error) {
	if c.cfg.CacheTTL <= 0 {
		return
	}
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxCacheEntries {
		for k, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCacheEntries {
			c.cache = map[string]cacheEntry{}
		}
	}
	c.cache[key] = cacheEntry{body: body, err: err, expires: now.Add(c.cfg.CacheTTL)}
}

// fetch GETs path and returns the single matched entity's JSON, or an
// autherr error.
func (c *BackstageCatalog) fetch(ctx context.Context, path string) ([]byte, error) {
	status, body, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	byName := strings.HasPrefix(path, "/entities/by-name/")
	switch {
	case status == http.StatusOK:
	case status == http.StatusNotFound && byName:
		return nil, autherr.NotFound(MsgNotFound)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return nil, c.unavailable("refused Gatehouse's service credentials (HTTP %d); check backend.auth.externalAccess or discovery for auth", status)
	default:
		return nil, c.unavailable("answered HTTP %d%s", status, errorMessage(body))
	}
	if byName {
		return c.requireEntity(body)
	}
	return c.singleMatch(body)
}

// unavailable is the ServiceUnavailable error for a catalog that could not
// answer; the message starts with "Catalog at <base URL>".
func (c *BackstageCatalog) unavailable(format string, args ...any) error {
	return autherr.ServiceUnavailable("Catalog at %s "+format, append([]any{c.base}, args...)...)
}

// get sends the GET request for path, with the service token when
// credentials are configured, and returns the answer's status and body (at
// most maxResponseBytes). Failing to ask or to read the whole answer is an
// unavailable error.
func (c *BackstageCatalog) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, c.unavailable("could not be asked: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.Credentials != nil {
		tok, err := c.cfg.Credentials.ServiceToken(ctx, c.cfg.PluginID)
		if err != nil {
			return 0, nil, c.unavailable("could not be asked: no service token: %v", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, nil, c.unavailable("did not answer within %s", c.cfg.Timeout)
		}
		// The url.Error repeats the request URL (with the user's email for
		// filter lookups); name only what went wrong.
		return 0, nil, c.unavailable("is unavailable: %v", neterr.WithoutURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, nil, c.unavailable("did not answer within %s", c.cfg.Timeout)
		}
		return 0, nil, c.unavailable("broke off its answer: %v", err)
	}
	if len(body) > maxResponseBytes {
		return 0, nil, c.unavailable("answered with more than %d bytes", maxResponseBytes)
	}
	return resp.StatusCode, body, nil
}

// requireEntity returns raw if it is an entity with a kind and a name, and
// an unavailable error otherwise.
func (c *BackstageCatalog) requireEntity(raw []byte) ([]byte, error) {
	var e Entity
	if err := json.Unmarshal(raw, &e); err != nil || e.Kind == "" || e.Metadata.Name == "" {
		return nil, c.unavailable("answered with something other than an entity")
	}
	return raw, nil
}

// singleMatch returns the one entity of a list answer (a JSON array, or
// {"items": [...]}), ignoring nulls: none is NotFound, more than one is
// Conflict.
func (c *BackstageCatalog) singleMatch(body []byte) ([]byte, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		// Newer catalogs may wrap lists as {"items": [...]}.
		var wrapped struct {
			Items []json.RawMessage `json:"items"`
		}
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil || wrapped.Items == nil {
			return nil, c.unavailable("answered with something other than a list of entities")
		}
		list = wrapped.Items
	}
	var found []json.RawMessage
	for _, raw := range list {
		if string(raw) != "null" {
			found = append(found, raw)
		}
	}
	switch len(found) {
	case 0:
		return nil, autherr.NotFound(MsgNotFound)
	case 1:
		return c.requireEntity(found[0])
	}
	return nil, autherr.Conflict(MsgConflict)
}

// errorMessage returns ": <message>" from a Backstage error body
// ({"error":{"name","message"}}), cut short, or "".
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	m := e.Error.Message
	if len(m) > 200 {
		m = m[:200] + "..."
	}
	return ": " + e.Error.Name + ": " + m
}

// outcomeOf is the metrics label of a lookup's result.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "found"
	case autherr.IsNotFound(err):
		return "not_found"
	case autherr.Is(err, autherr.NameConflict):
		return "conflict"
	case autherr.Is(err, autherr.NameInput):
		return "invalid"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "unavailable"
}

// catalogMetrics are a BackstageCatalog's Prometheus collectors.
type catalogMetrics struct {
	lookups *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newCatalogMetrics(reg prometheus.Registerer) (*catalogMetrics, error) {
	m := &catalogMetrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse",
			Subsystem: "catalog",
			Name:      "lookups_total",
			Help:      "User lookups by outcome (found, not_found, conflict, invalid, unavailable, canceled) and source (catalog, cache, none).",
		}, []string{"outcome", "source"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gatehouse",
			Subsystem: "catalog",
			Name:      "request_duration_seconds",
			Help:      "Duration of requests to the Backstage catalog, by outcome.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.lookups, err = register(reg, m.lookups); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	c, err := promreg.Register(reg, c)
	if err != nil {
		return c, fmt.Errorf("catalog: registering metrics: %w", err)
	}
	return c, nil
}
