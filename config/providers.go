package config

import (
	"fmt"
	"sort"
	"strings"
)

// providerKind describes one provider id Gatehouse serves: the keys its
// environment blocks may hold and how to read its own settings. Adding a
// provider is adding one entry to providerKinds.
type providerKind struct {
	// keys are the provider-specific keys, besides commonProviderKeys.
	keys []string
	// required keys must be present and non-empty ("<path>.<key>: required").
	required []string
	// scopeName is the provider name in Backstage's "no longer supports the
	// scope option" message; "" means the provider id.
	scopeName string
	// decode reads the provider-specific keys of one environment block into
	// pe. May be nil.
	decode func(d *decoder, m map[string]any, pe *ProviderEnv)
}

// commonProviderKeys are read for every provider by Backstage's OAuth route
// handlers and so are valid in every provider environment block.
var commonProviderKeys = []string{"callbackUrl", "sessionDuration", "additionalScopes", "signIn"}

// oidcKind is the upstream oidc provider; TeraSky's vcfsso reuses its
// authenticator, so it reads the same keys (spec §7.2).
var oidcKind = providerKind{
	keys: []string{
		"metadataUrl", "clientId", "clientSecret", "tokenEndpointAuthMethod",
		"tokenSignedResponseAlg", "prompt", "timeout", "startUrlSearchParams",
	},
	required: []string{"metadataUrl", "clientId", "clientSecret"},
	decode:   decodeOIDC,
}

// vmwareCloudKind is Backstage's VMware Cloud Services module (spec §7.3),
// plus Gatehouse's opt-in ID-token signature check.
var vmwareCloudKind = providerKind{
	keys:      []string{"clientId", "organizationId", "consoleEndpoint", "timeout", "verifyIdTokenSignature", "jwksUrl"},
	required:  []string{"clientId", "organizationId"},
	scopeName: "vmware-cloud",
	decode:    decodeVMwareCloud,
}

// providerKinds maps each provider id Gatehouse serves to its description.
var providerKinds = map[string]providerKind{
	"oidc":                oidcKind,
	"vcfsso":              oidcKind,
	"vmwareCloudServices": vmwareCloudKind,
}

// DefaultConsoleEndpoint is the VMware Cloud Services console.
const DefaultConsoleEndpoint = "https://console.cloud.vmware.com"

func decodeVMwareCloud(d *decoder, m map[string]any, pe *ProviderEnv) {
	p := pe.Path
	v := &VMwareCloud{ConsoleEndpoint: DefaultConsoleEndpoint, Timeout: defaultOIDCTimeout}
	v.ClientID, _ = d.str(m["clientId"], joinPath(p, "clientId"), false)
	v.OrganizationID, _ = d.str(m["organizationId"], joinPath(p, "organizationId"), false)
	if s, ok := d.str(m["consoleEndpoint"], joinPath(p, "consoleEndpoint"), false); ok && s != "" {
		v.ConsoleEndpoint = strings.TrimSuffix(s, "/")
	}
	if t, ok := m["timeout"]; ok && t != nil {
		if t, ok := d.timeout(t, joinPath(p, "timeout")); ok {
			v.Timeout = t
		}
	}
	if b, ok := m["verifyIdTokenSignature"]; ok && b != nil {
		v.VerifyIDTokenSignature, _ = d.boolean(b, joinPath(p, "verifyIdTokenSignature"))
	}
	v.JWKSURL, _ = d.str(m["jwksUrl"], joinPath(p, "jwksUrl"), false)
	pe.VMwareCloud = v
}

// secretKeys are keys whose values never appear in problem messages.
var secretKeys = map[string]bool{"clientSecret": true, "secret": true}

// SupportedProviders returns the provider ids Gatehouse serves, sorted
// ("oidc", "vcfsso"); auth.providers keys outside this list are problems.
func SupportedProviders() []string {
	ids := make([]string, 0, len(providerKinds))
	for id := range providerKinds {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Token endpoint authentication methods accepted for oidc/vcfsso.
const (
	authMethodBasic = "client_secret_basic"
	authMethodPost  = "client_secret_post"
)

func decodeOIDC(d *decoder, m map[string]any, pe *ProviderEnv) {
	p := pe.Path
	o := &OIDC{
		TokenEndpointAuthMethod: authMethodBasic,
		TokenSignedResponseAlg:  "RS256",
		Timeout:                 defaultOIDCTimeout,
	}
	o.MetadataURL, _ = d.str(m["metadataUrl"], joinPath(p, "metadataUrl"), false)
	o.ClientID, _ = d.str(m["clientId"], joinPath(p, "clientId"), false)
	o.ClientSecret, _ = d.str(m["clientSecret"], joinPath(p, "clientSecret"), true)
	if s, ok := d.str(m["tokenEndpointAuthMethod"], joinPath(p, "tokenEndpointAuthMethod"), false); ok && s != "" {
		if s != authMethodBasic && s != authMethodPost {
			d.add(joinPath(p, "tokenEndpointAuthMethod"), fmt.Sprintf("must be %q or %q, got %s", authMethodBasic, authMethodPost, describe(s, false)))
		} else {
			o.TokenEndpointAuthMethod = s
		}
	}
	if s, ok := d.str(m["tokenSignedResponseAlg"], joinPath(p, "tokenSignedResponseAlg"), false); ok && s != "" {
		o.TokenSignedResponseAlg = s
	}
	o.Prompt, _ = d.str(m["prompt"], joinPath(p, "prompt"), false)
	if v, ok := m["timeout"]; ok && v != nil {
		if t, ok := d.timeout(v, joinPath(p, "timeout")); ok {
			o.Timeout = t
		}
	}
	if sp, ok := d.mapOf(m["startUrlSearchParams"], joinPath(p, "startUrlSearchParams")); ok && len(sp) > 0 {
		o.StartURLSearchParams = make(map[string]string, len(sp))
		for k, v := range sp {
			if s, ok := d.str(v, joinPath(joinPath(p, "startUrlSearchParams"), k), false); ok {
				o.StartURLSearchParams[k] = s
			}
		}
	}
	pe.OIDC = o
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
