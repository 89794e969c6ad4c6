package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/builtin"
)

// Defaults and limits, as in Backstage.
const (
	defaultPort                     = 7007
	defaultEnvironment              = "development"
	defaultBackstageTokenExpiration = time.Hour
	minBackstageTokenExpiration     = 10 * time.Minute
	maxBackstageTokenExpiration     = 24 * time.Hour
)

// Keys of the blocks Gatehouse owns (typos there are reported).
var (
	sessionKeys = []string{"secret"}
	signInKeys  = []string{"resolvers", "profileTransforms"}
)

// decoder turns the merged raw tree into a Config, collecting problems.
type decoder struct {
	problems Problems
	// failed are key paths already reported by the transformer.
	failed map[string]bool
}

func (d *decoder) add(path, msg string) {
	for p := range d.failed {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return
		}
	}
	d.problems = append(d.problems, Problem{Path: path, Message: msg})
}

// typeErr reports a value of the wrong type. The value is shown only for
// scalars expected at non-secret keys: a string found where a map or list
// was expected may be a misplaced secret, so it is only named.
func (d *decoder) typeErr(path, want string, v any) {
	hide := isSecretPath(path) || want == "a map" || want == "a list"
	d.add(path, fmt.Sprintf("expected %s, got %s", want, describe(v, hide)))
}

func isSecretPath(path string) bool {
	i := strings.LastIndexByte(path, '.')
	return secretKeys[path[i+1:]]
}

// mapOf reads a map; absent/null gives (nil, false) silently.
func (d *decoder) mapOf(v any, path string) (map[string]any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		return x, true
	}
	d.typeErr(path, "a map", v)
	return nil, false
}

// listOf reads a list; absent/null gives (nil, false) silently.
func (d *decoder) listOf(v any, path string) ([]any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case []any:
		return x, true
	}
	d.typeErr(path, "a list", v)
	return nil, false
}

// listEntry is one map entry of a list of maps, with its key path.
type listEntry struct {
	path string
	m    map[string]any
}

// mapList reads a list whose entries must be maps (catalog.locations,
// discovery.endpoints, …); an entry that is not a map is reported at its
// index path and skipped.
func (d *decoder) mapList(v any, path string) []listEntry {
	l, ok := d.listOf(v, path)
	if !ok {
		return nil
	}
	out := make([]listEntry, 0, len(l))
	for i, e := range l {
		p := indexPath(path, i)
		em, ok := d.mapOf(e, p)
		if !ok {
			if e == nil {
				d.typeErr(p, "a map", e)
			}
			continue
		}
		out = append(out, listEntry{p, em})
	}
	return out
}

// str reads a string; numbers and booleans are taken in their text form
// (an APP_CONFIG_ override of "12345" arrives as a JSON number).
func (d *decoder) str(v any, path string, secret bool) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	d.add(path, "expected a string, got "+describe(v, secret))
	return "", false
}

// number reads a number; numeric strings are accepted as Backstage's
// ConfigReader does.
func (d *decoder) number(v any, path string) (float64, bool) {
	if v == nil {
		return 0, false
	}
	if f, ok := toFloat(v); ok {
		return f, true
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f, true
		}
	}
	d.typeErr(path, "a number", v)
	return 0, false
}

// boolean reads a boolean; the strings "true" and "false" are accepted.
func (d *decoder) boolean(v any, path string) (bool, bool) {
	switch x := v.(type) {
	case nil:
		return false, false
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	d.typeErr(path, "a boolean", v)
	return false, false
}

// strList reads a list of strings; a single string is taken as a one-item
// list.
func (d *decoder) strList(v any, path string) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	l, ok := d.listOf(v, path)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		if s, ok := d.str(e, indexPath(path, i), false); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) duration(v any, path string) (time.Duration, bool) {
	dur, err := ParseDuration(v)
	if err != nil {
		d.add(path, err.Error())
		return 0, false
	}
	return dur, true
}

// timeout reads a duration, also accepting a plain number of milliseconds
// (Backstage's oidc provider reads timeout as a number).
func (d *decoder) timeout(v any, path string) (time.Duration, bool) {
	if f, ok := toFloat(v); ok {
		return d.positiveMs(f, path)
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return d.positiveMs(f, path)
		}
	}
	t, ok := d.duration(v, path)
	if ok && t <= 0 {
		d.add(path, "must be positive")
		return 0, false
	}
	return t, ok
}

func (d *decoder) positiveMs(f float64, path string) (time.Duration, bool) {
	if f <= 0 || math.IsNaN(f) || f > float64(math.MaxInt64/int64(time.Millisecond)) {
		d.add(path, "must be a positive number of milliseconds or a duration like \"10s\"")
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// unknownKeys reports keys of m not in known (nor in skip), with a hint.
func (d *decoder) unknownKeys(m map[string]any, path string, known []string, skip ...string) {
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	for _, k := range skip {
		set[k] = true
	}
	for _, k := range sortedKeys(m) {
		if set[k] {
			continue
		}
		msg := "unknown key"
		if c := closest(k, known); c != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", c)
		}
		d.add(joinPath(path, k), msg)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (d *decoder) decode(raw map[string]any) *Config {
	cfg := &Config{}
	d.decodeApp(raw, cfg)
	d.decodeBackend(raw, cfg)
	d.decodeAuth(raw, cfg)
	d.decodeCatalog(raw, cfg)
	d.decodeOps(raw, cfg)
	d.decodeCatalogSource(raw, cfg)
	d.decodePersistence(raw, cfg)
	d.decodeModules(raw, cfg)
	d.decodeSessions(raw, cfg)
	d.decodeOAuthServer(raw, cfg)
	return cfg
}

func (d *decoder) required(m map[string]any, path, key string, secret bool) string {
	p := joinPath(path, key)
	s, ok := d.str(m[key], p, secret)
	if !ok {
		if m[key] == nil {
			d.add(p, "required")
		}
		return ""
	}
	if strings.TrimSpace(s) == "" {
		d.add(p, "required")
	}
	return s
}

func (d *decoder) decodeApp(raw map[string]any, cfg *Config) {
	app, ok := d.mapOf(raw["app"], "app")
	if !ok {
		if raw["app"] == nil {
			d.add("app.baseUrl", "required")
		}
		return
	}
	cfg.App.BaseURL = d.required(app, "app", "baseUrl", false)
}

func (d *decoder) decodeBackend(raw map[string]any, cfg *Config) {
	cfg.Backend.Listen.Port = defaultPort
	be, ok := d.mapOf(raw["backend"], "backend")
	d.decodeEdge(be, cfg)
	if !ok {
		if raw["backend"] == nil {
			d.add("backend.baseUrl", "required")
		}
		return
	}
	cfg.Backend.BaseURL = d.required(be, "backend", "baseUrl", false)
	switch l := be["listen"].(type) {
	case nil:
	case string:
		d.listenString(l, cfg)
	case map[string]any:
		cfg.Backend.Listen.Host, _ = d.str(l["host"], "backend.listen.host", false)
		if v, ok := l["port"]; ok && v != nil {
			if port, ok := d.port(v, "backend.listen.port"); ok {
				cfg.Backend.Listen.Port = port
			}
		}
	default:
		if f, ok := toFloat(l); ok {
			if port, ok := d.port(f, "backend.listen"); ok {
				cfg.Backend.Listen.Port = port
			}
			return
		}
		d.typeErr("backend.listen", "a map or a \"host:port\" string", l)
	}
}

// listenString parses backend.listen given as "<port>" or "<host>:<port>"
// (Backstage's readHttpServerOptions).
func (d *decoder) listenString(l string, cfg *Config) {
	host, portStr := "", l
	if i := strings.LastIndexByte(l, ':'); i >= 0 {
		host, portStr = l[:i], l[i+1:]
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
	}
	port, err := strconv.Atoi(strings.TrimSpace(portStr))
	if err != nil || port < 0 || port > 65535 {
		d.add("backend.listen", fmt.Sprintf("unable to parse listen address %q, expected <port> or <host>:<port>", l))
		return
	}
	cfg.Backend.Listen.Host = host
	cfg.Backend.Listen.Port = port
}

func (d *decoder) port(v any, path string) (int, bool) {
	f, ok := d.number(v, path)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < 0 || f > 65535 {
		d.add(path, fmt.Sprintf("expected a port number between 0 and 65535, got %s", describe(v, false)))
		return 0, false
	}
	return int(f), true
}

func (d *decoder) decodeAuth(raw map[string]any, cfg *Config) {
	a := &cfg.Auth
	a.Environment = defaultEnvironment
	a.BackstageTokenExpiration = defaultBackstageTokenExpiration
	a.OmitIdentityTokenOwnershipClaim = true
	auth, ok := d.mapOf(raw["auth"], "auth")
	if !ok {
		return
	}
	if s, ok := d.str(auth["environment"], "auth.environment", false); ok && s != "" {
		a.Environment = s
	}
	if sess, ok := d.mapOf(auth["session"], "auth.session"); ok {
		d.unknownKeys(sess, "auth.session", sessionKeys)
		a.SessionSecret, _ = d.str(sess["secret"], "auth.session.secret", true)
	}
	if v := auth["backstageTokenExpiration"]; v != nil {
		if dur, ok := d.duration(v, "auth.backstageTokenExpiration"); ok {
			a.BackstageTokenExpiration = min(max(dur, minBackstageTokenExpiration), maxBackstageTokenExpiration)
		}
	}
	if b, ok := d.boolean(auth["omitIdentityTokenOwnershipClaim"], "auth.omitIdentityTokenOwnershipClaim"); ok {
		a.OmitIdentityTokenOwnershipClaim = b
	}
	a.ExperimentalExtraAllowedOrigins = d.strList(auth["experimentalExtraAllowedOrigins"], "auth.experimentalExtraAllowedOrigins")

	provs, ok := d.mapOf(auth["providers"], "auth.providers")
	if !ok {
		return
	}
	a.Providers = map[string]map[string]*ProviderEnv{}
	configured := false
	for _, id := range sortedKeys(provs) {
		path := joinPath("auth.providers", id)
		kind, known := builtin.Registry[id]
		if !known {
			d.add(path, fmt.Sprintf("unknown provider %q; supported: %s", id, joinKeys(SupportedProviders())))
			continue
		}
		envs, ok := d.mapOf(provs[id], path)
		if !ok {
			continue
		}
		byEnv := map[string]*ProviderEnv{}
		for _, env := range sortedKeys(envs) {
			configured = true
			if pe := d.decodeProviderEnv(id, env, envs[env], kind); pe != nil {
				byEnv[env] = pe
			}
		}
		a.Providers[id] = byEnv
	}
	if configured && strings.TrimSpace(a.SessionSecret) == "" {
		d.add("auth.session.secret", "required when auth providers are configured (it keys the sealed login cookie)")
	}
}

// scopes reads additionalScopes: a string split by providers.SplitScopes,
// or a list of strings (each also split, then deduplicated).
func (d *decoder) scopes(v any, path string) []string {
	if s, ok := v.(string); ok {
		return providers.SplitScopes(s)
	}
	var all []string
	for _, s := range d.strList(v, path) {
		all = append(all, providers.SplitScopes(s)...)
	}
	return dedupe(all)
}

func (d *decoder) signIn(v any, path string) SignIn {
	var si SignIn
	m, ok := d.mapOf(v, path)
	if !ok {
		return si
	}
	d.unknownKeys(m, path, signInKeys)
	si.Resolvers = d.steps(m["resolvers"], joinPath(path, "resolvers"), "resolver")
	si.ProfileTransforms = d.steps(m["profileTransforms"], joinPath(path, "profileTransforms"), "transform")
	return si
}

// steps reads a list of {<nameKey>: name, ...options} entries.
func (d *decoder) steps(v any, path, nameKey string) []Step {
	l, ok := d.listOf(v, path)
	if !ok {
		return nil
	}
	out := make([]Step, 0, len(l))
	for i, e := range l {
		p := indexPath(path, i)
		em, ok := e.(map[string]any)
		if !ok {
			d.add(p, fmt.Sprintf("expected a map with a %q key, got %s", nameKey, describe(e, false)))
			continue
		}
		name, _ := d.str(em[nameKey], joinPath(p, nameKey), false)
		if strings.TrimSpace(name) == "" {
			if _, isStr := em[nameKey].(string); isStr || em[nameKey] == nil {
				d.add(joinPath(p, nameKey), "required")
			}
			continue
		}
		st := Step{Name: name, Path: p}
		for k, ov := range em {
			if k == nameKey {
				continue
			}
			if st.Options == nil {
				st.Options = map[string]any{}
			}
			st.Options[k] = ov
		}
		out = append(out, st)
	}
	return out
}

func (d *decoder) decodeCatalog(raw map[string]any, cfg *Config) {
	cat, ok := d.mapOf(raw["catalog"], "catalog")
	if !ok {
		return
	}
	for _, e := range d.mapList(cat["locations"], "catalog.locations") {
		p, em := e.path, e.m
		var loc Location
		loc.Type, _ = d.str(em["type"], joinPath(p, "type"), false)
		loc.Target, _ = d.str(em["target"], joinPath(p, "target"), false)
		cfg.Catalog.Locations = append(cfg.Catalog.Locations, loc)
	}
}
