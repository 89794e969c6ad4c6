package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// Catalog sources and credentials of gatehouse.catalog.
const (
	CatalogSourceFile      = "file"
	CatalogSourceBackstage = "backstage"

	CatalogCredentialsPlugin = "plugin"
	CatalogCredentialsStatic = "static"
)

// DefaultCatalogCacheTTL is gatehouse.catalog.cacheTTL's default; the
// timeout's default is the catalog client's own
// (catalog.DefaultBackstageTimeout).
const DefaultCatalogCacheTTL = 5 * time.Second

var catalogSourceKeys = []string{"source", "cacheTtl", "timeout", "credentials", "staticTokenSubject"}

// CatalogSource is Gatehouse's own gatehouse.catalog block: where users are
// looked up.
//
//	gatehouse:
//	  catalog:
//	    source: backstage      # file (default: catalog.locations) or backstage
//	    cacheTtl: 5s           # per-query cache; 0 turns it off
//	    timeout: 10s           # one lookup against the catalog
//	    credentials: plugin    # plugin (default) or static
//	    staticTokenSubject: gatehouse   # which externalAccess static token
type CatalogSource struct {
	// Source is "file" (default) or "backstage".
	Source string
	// CacheTTL is cacheTtl, default 5s; 0 turns the cache off.
	CacheTTL time.Duration
	// Timeout is timeout, default 10s.
	Timeout time.Duration
	// Credentials is "plugin" (plugin tokens signed by Gatehouse, default) or
	// "static" (a backend.auth.externalAccess static token).
	Credentials string
	// StaticTokenSubject picks the static externalAccess entry by its
	// subject; "" means the first static entry.
	StaticTokenSubject string
}

// Discovery is Backstage's `discovery` block.
type Discovery struct {
	// Endpoints is discovery.endpoints, in order; the first that lists a
	// plugin wins.
	Endpoints []DiscoveryEndpoint
}

// DiscoveryEndpoint is one discovery.endpoints entry. Target may be a
// string (Internal = External) or {internal, external}; either may hold
// {{pluginId}} (spaces inside the braces allowed).
type DiscoveryEndpoint struct {
	Internal string
	External string
	Plugins  []string
}

// ExternalAccess is one backend.auth.externalAccess entry. Gatehouse reads
// the static ones: the token it may send to other Backstage plugins.
type ExternalAccess struct {
	// Type is static, legacy or jwks; only static entries carry Token.
	Type    string
	Token   string
	Subject string
	// Path is the entry's key path, for messages.
	Path string
}

// InternalBaseURL returns the internal base URL of pluginID as Backstage's
// HostDiscovery computes it: the first discovery.endpoints entry listing the
// plugin (with {{pluginId}} replaced), else backend.baseUrl + "/api/" +
// pluginID.
func (c *Config) InternalBaseURL(pluginID string) string {
	for _, e := range c.Discovery.Endpoints {
		if slices.Contains(e.Plugins, pluginID) {
			return expandPluginID(e.Internal, pluginID)
		}
	}
	return strings.TrimSuffix(c.Backend.BaseURL, "/") + "/api/" + pluginID
}

func expandPluginID(target, pluginID string) string {
	for _, p := range []string{"{{pluginId}}", "{{ pluginId }}"} {
		target = strings.ReplaceAll(target, p, pluginID)
	}
	return strings.TrimSuffix(target, "/")
}

// StaticToken returns the externalAccess static token Gatehouse sends when
// gatehouse.catalog.credentials is static.
func (c *Config) StaticToken() (ExternalAccess, bool) {
	for _, e := range c.ExternalAccess {
		if e.Type == "static" && e.Token != "" &&
			(c.CatalogSource.StaticTokenSubject == "" || e.Subject == c.CatalogSource.StaticTokenSubject) {
			return e, true
		}
	}
	return ExternalAccess{}, false
}

// decodeCatalogSource reads gatehouse.catalog, discovery.endpoints and
// backend.auth.externalAccess.
func (d *decoder) decodeCatalogSource(raw map[string]any, cfg *Config) {
	cs := &cfg.CatalogSource
	*cs = CatalogSource{Source: CatalogSourceFile, CacheTTL: DefaultCatalogCacheTTL, Timeout: catalog.DefaultBackstageTimeout, Credentials: CatalogCredentialsPlugin}
	d.decodeDiscovery(raw, cfg)
	d.decodeExternalAccess(raw, cfg)

	g, _ := d.mapOf(raw["gatehouse"], "gatehouse")
	m, ok := d.mapOf(g["catalog"], "gatehouse.catalog")
	if !ok {
		return
	}
	const p = "gatehouse.catalog"
	d.unknownKeys(m, p, catalogSourceKeys)
	oneOf := func(key string, allowed ...string) string {
		s, ok := d.str(m[key], p+"."+key, false)
		if !ok || s == "" {
			return ""
		}
		if !slices.Contains(allowed, s) {
			d.add(p+"."+key, fmt.Sprintf("expected %s, got %q", strings.Join(allowed, " or "), s))
			return ""
		}
		return s
	}
	if s := oneOf("source", CatalogSourceFile, CatalogSourceBackstage); s != "" {
		cs.Source = s
	}
	if s := oneOf("credentials", CatalogCredentialsPlugin, CatalogCredentialsStatic); s != "" {
		cs.Credentials = s
	}
	if v, ok := m["cacheTtl"]; ok && v != nil {
		if f, isNum := toFloat(v); isNum && f == 0 {
			cs.CacheTTL = 0
		} else if dur, ok := d.duration(v, p+".cacheTtl"); ok {
			if dur < 0 {
				d.add(p+".cacheTtl", "must not be negative")
			} else {
				cs.CacheTTL = dur
			}
		}
	}
	if v, ok := m["timeout"]; ok && v != nil {
		if dur, ok := d.timeout(v, p+".timeout"); ok {
			cs.Timeout = dur
		}
	}
	cs.StaticTokenSubject, _ = d.str(m["staticTokenSubject"], p+".staticTokenSubject", false)

	if cs.Source == CatalogSourceBackstage && cs.Credentials == CatalogCredentialsStatic {
		if _, ok := cfg.StaticToken(); !ok {
			what := "static entry"
			if cs.StaticTokenSubject != "" {
				what = fmt.Sprintf("static entry with subject %q", cs.StaticTokenSubject)
			}
			d.add("backend.auth.externalAccess", "gatehouse.catalog.credentials is static but there is no "+what)
		}
	}
}

func (d *decoder) decodeDiscovery(raw map[string]any, cfg *Config) {
	disc, ok := d.mapOf(raw["discovery"], "discovery")
	if !ok {
		return
	}
	for _, e := range d.mapList(disc["endpoints"], "discovery.endpoints") {
		p, em := e.path, e.m
		var ep DiscoveryEndpoint
		switch t := em["target"].(type) {
		case string:
			ep.Internal, ep.External = t, t
		case map[string]any:
			ep.Internal = d.required(t, p+".target", "internal", false)
			ep.External = d.required(t, p+".target", "external", false)
		case nil:
			d.add(p+".target", "required")
			continue
		default:
			d.typeErr(p+".target", "a URL or {internal, external}", t)
			continue
		}
		for _, u := range []string{ep.Internal, ep.External} {
			if pu, err := url.Parse(expandPluginID(u, "x")); u != "" && (err != nil || pu.Scheme == "" || pu.Host == "") {
				d.add(p+".target", fmt.Sprintf("%q is not an absolute URL", u))
			}
		}
		ep.Plugins = d.strList(em["plugins"], p+".plugins")
		cfg.Discovery.Endpoints = append(cfg.Discovery.Endpoints, ep)
	}
}

func (d *decoder) decodeExternalAccess(raw map[string]any, cfg *Config) {
	be, _ := d.mapOf(raw["backend"], "backend")
	auth, _ := d.mapOf(be["auth"], "backend.auth")
	for _, e := range d.mapList(auth["externalAccess"], "backend.auth.externalAccess") {
		p, em := e.path, e.m
		ea := ExternalAccess{Path: p}
		ea.Type, _ = d.str(em["type"], p+".type", false)
		if ea.Type == "static" {
			opts, _ := d.mapOf(em["options"], p+".options")
			// The token is a secret: never echoed in a problem.
			ea.Token, _ = d.str(opts["token"], p+".options.token", true)
			ea.Subject, _ = d.str(opts["subject"], p+".options.subject", false)
			if ea.Token == "" {
				d.add(p+".options.token", "required")
			} else if strings.ContainsAny(ea.Token, " \t\r\n") {
				d.add(p+".options.token", "must not contain whitespace")
			}
		}
		cfg.ExternalAccess = append(cfg.ExternalAccess, ea)
	}
}
