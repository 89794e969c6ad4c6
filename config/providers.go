package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/builtin"
)

// commonProviderKeys are read for every provider by Backstage's OAuth route
// handlers and so are valid in every provider environment block.
var commonProviderKeys = []string{"callbackUrl", "sessionDuration", "additionalScopes", "signIn", "signOut"}

// secretKeys are keys whose values never appear in problem messages.
var secretKeys = map[string]bool{"clientSecret": true, "secret": true}

// SupportedProviders returns the provider ids Gatehouse serves, sorted;
// auth.providers keys outside this list are problems.
func SupportedProviders() []string { return builtin.Registry.IDs() }

func (d *decoder) decodeProviderEnv(id, env string, v any, kind providers.Kind) *ProviderEnv {
	path := joinPath(joinPath("auth.providers", id), env)
	m, ok := d.mapOf(v, path)
	if !ok && v != nil {
		return nil
	}
	if m == nil {
		m = map[string]any{}
	}
	pe := &ProviderEnv{ProviderID: id, Env: env, Path: path}
	if _, ok := m["scope"]; ok {
		name := kind.ScopeName
		if name == "" {
			name = id
		}
		d.add(joinPath(path, "scope"), fmt.Sprintf("The %s provider no longer supports the \"scope\" configuration option. Please use the \"additionalScopes\" option instead.", name))
	}
	known := append(append([]string(nil), commonProviderKeys...), kind.Keys...)
	d.unknownKeys(m, path, known, "scope")
	for _, k := range kind.Required {
		d.required(m, path, k, secretKeys[k])
	}

	pe.CallbackURL, _ = d.str(m["callbackUrl"], joinPath(path, "callbackUrl"), false)
	if v := m["sessionDuration"]; v != nil {
		p := joinPath(path, "sessionDuration")
		if dur, ok := d.duration(v, p); ok {
			if dur <= 0 {
				d.add(p, "must be positive")
			} else {
				pe.SessionDuration = dur
			}
		}
	}
	pe.AdditionalScopes = d.scopes(m["additionalScopes"], joinPath(path, "additionalScopes"))
	pe.SignIn = d.signIn(m["signIn"], joinPath(path, "signIn"))
	pe.SignOut = d.signOut(m["signOut"], joinPath(path, "signOut"))
	pe.Settings = kind.Decode(providerSettings{d: d, m: m, path: path})
	return pe
}

// providerSettings hands one provider environment block to its provider
// package's Decode, recording problems at the keys' paths.
type providerSettings struct {
	d    *decoder
	m    map[string]any
	path string
}

var _ providers.Settings = providerSettings{}

func (s providerSettings) String(key string) string {
	v, _ := s.d.str(s.m[key], joinPath(s.path, key), false)
	return v
}

func (s providerSettings) Secret(key string) string {
	v, _ := s.d.str(s.m[key], joinPath(s.path, key), true)
	return v
}

func (s providerSettings) Bool(key string) (bool, bool) {
	return s.d.boolean(s.m[key], joinPath(s.path, key))
}

func (s providerSettings) Timeout(key string) (time.Duration, bool) {
	v, ok := s.m[key]
	if !ok || v == nil {
		return 0, false
	}
	return s.d.timeout(v, joinPath(s.path, key))
}

func (s providerSettings) StringMap(key string) map[string]string {
	p := joinPath(s.path, key)
	m, ok := s.d.mapOf(s.m[key], p)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if str, ok := s.d.str(v, joinPath(p, k), false); ok {
			out[k] = str
		}
	}
	return out
}

func (s providerSettings) Problem(key, message string) {
	s.d.add(joinPath(s.path, key), message)
}

func dedupe(parts []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range parts {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// joinKeys lists ids for a message.
func joinKeys(ids []string) string { return strings.Join(ids, ", ") }
