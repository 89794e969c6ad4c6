package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/config"
)

func loadOAuth(t *testing.T, yaml string) config.OAuthServer {
	t.Helper()
	cfg, err := config.LoadBytes("a.yaml", []byte(opsBase+yaml), config.Options{})
	if err != nil {
		t.Fatalf("%q: %v", yaml, err)
	}
	return cfg.Auth.OAuthServer
}

// wantProblems asserts that loading yaml fails with a problem at each
// path whose message contains the text after ": ".
func wantProblems(t *testing.T, yaml string, want ...string) config.Problems {
	t.Helper()
	_, err := config.LoadBytes("a.yaml", []byte(opsBase+yaml), config.Options{})
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Errorf("%q: err = %v, want problems", yaml, err)
		return nil
	}
	for _, w := range want {
		path, msg, _ := strings.Cut(w, ": ")
		found := false
		for _, p := range ps {
			if p.Path == path && strings.Contains(p.Message, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: problems %v; want %s mentioning %q", yaml, ps, path, msg)
		}
	}
	return ps
}

func TestOAuthServerDefaults(t *testing.T) {
	o := loadOAuth(t, "")
	want := config.OAuthServer{
		DCR:  config.DynamicClientRegistration{AllowedRedirectURIPatterns: cimd.DefaultDCRRedirectURIPatterns()},
		CIMD: config.ClientIDMetadataDocuments{AllowedRedirectURIPatterns: cimd.DefaultRedirectURIPatterns()},
		RefreshTokens: config.RefreshTokens{
			TokenLifetime:       30 * 24 * time.Hour,
			MaxRotationLifetime: 365 * 24 * time.Hour,
			MaxTokensPerUser:    20,
		},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults = %+v\nwant %+v", o, want)
	}
	if o.Enabled() || o.MountedRoutes() != nil || o.AllowPlainPKCE {
		t.Errorf("defaults turn something on: %+v", o)
	}
	// The literal default lists, as Backstage 0.30.1 has them (spec §1.1).
	if got := cimd.DefaultDCRRedirectURIPatterns(); !reflect.DeepEqual(got, []string{
		"cursor://*", "https://www.cursor.com/*",
		"http://localhost:*/*", "http://localhost/*", "http://127.0.0.1:*/*", "http://127.0.0.1/*", "http://[::1]:*/*", "http://[::1]/*",
	}) {
		t.Errorf("DCR default = %q", got)
	}
	if got := o.CIMD.AllowedClientIDPatterns("https://bs.example.com/api/auth/"); !reflect.DeepEqual(got, []string{
		"https://claude.ai/*", "https://vscode.dev/*", "https://chatgpt.com/oauth/codex/*/client.json",
		"https://bs.example.com/api/auth/.well-known/oauth-client/cli.json",
	}) {
		t.Errorf("default client id allowlist = %q", got)
	}
	for _, p := range append(cimd.DefaultDCRRedirectURIPatterns(), cimd.DefaultClientIDPatterns()...) {
		if err := config.ValidateURLPattern(p); err != nil {
			t.Errorf("default %q: %v", p, err)
		}
	}
}

func TestOAuthServerCIMD(t *testing.T) {
	const cli = "https://bs.example.com/api/auth/.well-known/oauth-client/cli.json"
	for _, tc := range []struct {
		name, yaml string
		enabled    bool
		source     string
		clientIDs  []string // effective
		redirects  []string
	}{
		{"empty block", "auth: {clientIdMetadataDocuments: {}}\n", false, "auth.clientIdMetadataDocuments",
			append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"enabled", "auth: {clientIdMetadataDocuments: {enabled: true}}\n", true, "auth.clientIdMetadataDocuments",
			append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"enabled as a string", "auth: {clientIdMetadataDocuments: {enabled: 'true'}}\n", true, "auth.clientIdMetadataDocuments",
			append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"client ids configured: defaults dropped, deduplicated, CLI appended",
			"auth: {clientIdMetadataDocuments: {enabled: true, allowedClientIdPatterns: ['https://a.example/*', 'https://a.example/*', 'https://b.example/c.json']}}\n",
			true, "auth.clientIdMetadataDocuments",
			[]string{"https://a.example/*", "https://b.example/c.json", cli}, cimd.DefaultRedirectURIPatterns()},
		{"empty client id list keeps only the CLI", "auth: {clientIdMetadataDocuments: {enabled: true, allowedClientIdPatterns: []}}\n",
			true, "auth.clientIdMetadataDocuments", []string{cli}, cimd.DefaultRedirectURIPatterns()},
		{"redirects configured", "auth: {clientIdMetadataDocuments: {allowedRedirectUriPatterns: ['myapp://callback', '*']}}\n",
			false, "auth.clientIdMetadataDocuments", append(cimd.DefaultClientIDPatterns(), cli), []string{"myapp://callback", "*"}},
		{"alias alone counts", "auth: {experimentalClientIdMetadataDocuments: {enabled: true, allowedRedirectUriPatterns: ['http://localhost:*/cb']}}\n",
			true, "auth.experimentalClientIdMetadataDocuments", append(cimd.DefaultClientIDPatterns(), cli), []string{"http://localhost:*/cb"}},
		{"stable enabled:false beats alias enabled:true (captured in Backstage)",
			"auth: {clientIdMetadataDocuments: {enabled: false}, experimentalClientIdMetadataDocuments: {enabled: true, allowedClientIdPatterns: ['https://x.example/*']}}\n",
			false, "auth.clientIdMetadataDocuments", append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"stable enabled:true beats alias enabled:false",
			"auth: {clientIdMetadataDocuments: {enabled: true}, experimentalClientIdMetadataDocuments: {enabled: false, allowedRedirectUriPatterns: ['http://x/*']}}\n",
			true, "auth.clientIdMetadataDocuments", append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"an empty stable block still hides the alias",
			"auth: {clientIdMetadataDocuments: {}, experimentalClientIdMetadataDocuments: {enabled: true}}\n",
			false, "auth.clientIdMetadataDocuments", append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
		{"a null stable key alone reads as absent", "auth: {clientIdMetadataDocuments: null}\n",
			false, "", append(cimd.DefaultClientIDPatterns(), cli), cimd.DefaultRedirectURIPatterns()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := loadOAuth(t, tc.yaml)
			if o.CIMD.Enabled != tc.enabled || o.CIMDSource != tc.source {
				t.Errorf("enabled=%v source=%q, want %v %q", o.CIMD.Enabled, o.CIMDSource, tc.enabled, tc.source)
			}
			if got := o.CIMD.AllowedClientIDPatterns("https://bs.example.com/api/auth"); !reflect.DeepEqual(got, tc.clientIDs) {
				t.Errorf("client ids = %q, want %q", got, tc.clientIDs)
			}
			if !reflect.DeepEqual(o.CIMD.AllowedRedirectURIPatterns, tc.redirects) {
				t.Errorf("redirects = %q, want %q", o.CIMD.AllowedRedirectURIPatterns, tc.redirects)
			}
		})
	}
}

func TestOAuthServerDCR(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       config.DynamicClientRegistration
	}{
		{"empty", "auth: {experimentalDynamicClientRegistration: {}}\n",
			config.DynamicClientRegistration{AllowedRedirectURIPatterns: cimd.DefaultDCRRedirectURIPatterns()}},
		{"enabled", "auth: {experimentalDynamicClientRegistration: {enabled: true}}\n",
			config.DynamicClientRegistration{Enabled: true, AllowedRedirectURIPatterns: cimd.DefaultDCRRedirectURIPatterns()}},
		{"patterns", "auth: {experimentalDynamicClientRegistration: {enabled: true, allowedRedirectUriPatterns: ['https://*.example.com/*', 'http://localhost:*']}}\n",
			config.DynamicClientRegistration{Enabled: true, AllowedRedirectURIPatterns: []string{"https://*.example.com/*", "http://localhost:*"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if o := loadOAuth(t, tc.yaml); !reflect.DeepEqual(o.DCR, tc.want) {
				t.Errorf("DCR = %+v, want %+v", o.DCR, tc.want)
			}
		})
	}
}

func TestOAuthServerRefreshTokens(t *testing.T) {
	def := config.RefreshTokens{TokenLifetime: 30 * 24 * time.Hour, MaxRotationLifetime: 365 * 24 * time.Hour, MaxTokensPerUser: 20}
	with := func(f func(*config.RefreshTokens)) config.RefreshTokens { r := def; f(&r); return r }
	for _, tc := range []struct {
		name, yaml string
		want       config.RefreshTokens
	}{
		{"empty", "auth: {experimentalRefreshToken: {}}\n", def},
		{"enabled", "auth: {experimentalRefreshToken: {enabled: true}}\n", with(func(r *config.RefreshTokens) { r.Enabled = true })},
		{"object lifetime", "auth: {experimentalRefreshToken: {tokenLifetime: {days: 7}}}\n", with(func(r *config.RefreshTokens) { r.TokenLifetime = 7 * 24 * time.Hour })},
		{"ms-style lifetime", "auth: {experimentalRefreshToken: {tokenLifetime: 12 hours}}\n", with(func(r *config.RefreshTokens) { r.TokenLifetime = 12 * time.Hour })},
		{"ISO lifetime", "auth: {experimentalRefreshToken: {maxRotationLifetime: P90D}}\n", with(func(r *config.RefreshTokens) { r.MaxRotationLifetime = 90 * 24 * time.Hour })},
		{"fractional seconds floored", "auth: {experimentalRefreshToken: {tokenLifetime: 1500ms}}\n", with(func(r *config.RefreshTokens) { r.TokenLifetime = time.Second })},
		{"cap", "auth: {experimentalRefreshToken: {maxTokensPerUser: 3}}\n", with(func(r *config.RefreshTokens) { r.MaxTokensPerUser = 3 })},
		{"cap as a string", "auth: {experimentalRefreshToken: {maxTokensPerUser: '5'}}\n", with(func(r *config.RefreshTokens) { r.MaxTokensPerUser = 5 })},
		{"catalog check off", "auth: {experimentalRefreshToken: {dangerouslyDisableCatalogPresenceCheck: true}}\n",
			with(func(r *config.RefreshTokens) { r.DangerouslyDisableCatalogPresenceCheck = true })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if o := loadOAuth(t, tc.yaml); o.RefreshTokens != tc.want {
				t.Errorf("refresh = %+v, want %+v", o.RefreshTokens, tc.want)
			}
		})
	}
}

func TestOAuthServerAllowPlainPKCE(t *testing.T) {
	for yaml, want := range map[string]bool{
		"":                         false,
		"gatehouse: {oauth: {}}\n": false,
		"gatehouse: {oauth: {allowPlainPkce: true}}\n":  true,
		"gatehouse: {oauth: {allowPlainPkce: false}}\n": false,
	} {
		if got := loadOAuth(t, yaml).AllowPlainPKCE; got != want {
			t.Errorf("%q: AllowPlainPKCE = %v, want %v", yaml, got, want)
		}
	}
}

func TestOAuthServerProblems(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		// wrong types
		{"auth: {clientIdMetadataDocuments: true}\n", []string{"auth.clientIdMetadataDocuments: expected a map"}},
		{"auth: {clientIdMetadataDocuments: {enabled: yes please}}\n", []string{"auth.clientIdMetadataDocuments.enabled: expected a boolean"}},
		{"auth: {clientIdMetadataDocuments: {allowedClientIdPatterns: 'https://a.example/*'}}\n", []string{"auth.clientIdMetadataDocuments.allowedClientIdPatterns: expected a list"}},
		{"auth: {clientIdMetadataDocuments: {allowedRedirectUriPatterns: [{a: 1}]}}\n", []string{"auth.clientIdMetadataDocuments.allowedRedirectUriPatterns[0]: expected a string"}},
		{"auth: {experimentalClientIdMetadataDocuments: {enabled: 3}}\n", []string{"auth.experimentalClientIdMetadataDocuments.enabled: expected a boolean"}},
		{"auth: {experimentalDynamicClientRegistration: [1]}\n", []string{"auth.experimentalDynamicClientRegistration: expected a map"}},
		{"auth: {experimentalDynamicClientRegistration: {enabled: on}}\n", []string{"auth.experimentalDynamicClientRegistration.enabled: expected a boolean"}},
		{"auth: {experimentalRefreshToken: {enabled: 1}}\n", []string{"auth.experimentalRefreshToken.enabled: expected a boolean"}},
		{"auth: {experimentalRefreshToken: {tokenLifetime: 3600}}\n", []string{"auth.experimentalRefreshToken.tokenLifetime: plain number"}},
		{"auth: {experimentalRefreshToken: {maxRotationLifetime: {dayz: 3}}}\n", []string{`auth.experimentalRefreshToken.maxRotationLifetime: unknown duration key "dayz"`}},
		{"auth: {experimentalRefreshToken: {maxTokensPerUser: many}}\n", []string{"auth.experimentalRefreshToken.maxTokensPerUser: expected a number"}},
		{"auth: {experimentalRefreshToken: {dangerouslyDisableCatalogPresenceCheck: [true]}}\n", []string{"auth.experimentalRefreshToken.dangerouslyDisableCatalogPresenceCheck: expected a boolean"}},
		{"gatehouse: {oauth: {allowPlainPkce: sometimes}}\n", []string{"gatehouse.oauth.allowPlainPkce: expected a boolean"}},
		{"gatehouse: {oauth: true}\n", []string{"gatehouse.oauth: expected a map"}},
		{"auth: {clientIdMetadataDocuments: null, experimentalClientIdMetadataDocuments: {enabled: true}}\n",
			[]string{"auth.clientIdMetadataDocuments: is null while auth.experimentalClientIdMetadataDocuments is set"}},
		// unknown keys, with a hint
		{"auth: {clientIdMetadataDocuments: {enabeld: true}}\n", []string{`auth.clientIdMetadataDocuments.enabeld: unknown key (did you mean "enabled"?)`}},
		{"auth: {clientIdMetadataDocuments: {allowedClientIDPatterns: []}}\n", []string{`auth.clientIdMetadataDocuments.allowedClientIDPatterns: unknown key (did you mean "allowedClientIdPatterns"?)`}},
		{"auth: {clientIdMetadataDocuments: {}, experimentalClientIdMetadataDocuments: {enable: true}}\n",
			[]string{`auth.experimentalClientIdMetadataDocuments.enable: unknown key (did you mean "enabled"?)`}},
		{"auth: {experimentalDynamicClientRegistration: {allowedRedirectUrlPatterns: []}}\n",
			[]string{`auth.experimentalDynamicClientRegistration.allowedRedirectUrlPatterns: unknown key (did you mean "allowedRedirectUriPatterns"?)`}},
		{"auth: {experimentalRefreshToken: {maxTokenPerUser: 3, tokenLifeTime: 1d}}\n", []string{
			`auth.experimentalRefreshToken.maxTokenPerUser: unknown key (did you mean "maxTokensPerUser"?)`,
			`auth.experimentalRefreshToken.tokenLifeTime: unknown key (did you mean "tokenLifetime"?)`}},
		{"gatehouse: {oauth: {allowPlainPKCE: true}}\n", []string{`gatehouse.oauth.allowPlainPKCE: unknown key (did you mean "allowPlainPkce"?)`}},
		{"gatehouse: {oath: {}}\n", []string{`gatehouse.oath: unknown key (did you mean "oauth"?)`}},
		// bad values
		{"auth: {clientIdMetadataDocuments: {allowedClientIdPatterns: ['claude.ai/*']}}\n",
			[]string{"auth.clientIdMetadataDocuments.allowedClientIdPatterns[0]: an explicit protocol is required"}},
		{"auth: {clientIdMetadataDocuments: {allowedRedirectUriPatterns: ['http://localhost:*/*', 'https:///cb']}}\n",
			[]string{`auth.clientIdMetadataDocuments.allowedRedirectUriPatterns[1]: invalid URL pattern "https:///cb"`}},
		{"auth: {experimentalDynamicClientRegistration: {allowedRedirectUriPatterns: ['http://localhost:99999/*']}}\n",
			[]string{"auth.experimentalDynamicClientRegistration.allowedRedirectUriPatterns[0]: invalid URL pattern"}},
		{"auth: {experimentalRefreshToken: {tokenLifetime: 0s}}\n", []string{"auth.experimentalRefreshToken.tokenLifetime: must be a positive duration"}},
		{"auth: {experimentalRefreshToken: {tokenLifetime: 500ms}}\n", []string{"auth.experimentalRefreshToken.tokenLifetime: must be a positive duration"}},
		{"auth: {experimentalRefreshToken: {maxRotationLifetime: -1d}}\n", []string{"auth.experimentalRefreshToken.maxRotationLifetime: must be a positive duration"}},
		{"auth: {experimentalRefreshToken: {tokenLifetime: 2d, maxRotationLifetime: 2 days}}\n",
			[]string{"auth.experimentalRefreshToken.maxRotationLifetime: must be greater than tokenLifetime"}},
		{"auth: {experimentalRefreshToken: {tokenLifetime: 400d}}\n",
			[]string{"auth.experimentalRefreshToken.maxRotationLifetime: must be greater than tokenLifetime"}},
		{"auth: {experimentalRefreshToken: {maxTokensPerUser: 0}}\n", []string{"auth.experimentalRefreshToken.maxTokensPerUser: must be a positive whole number"}},
		{"auth: {experimentalRefreshToken: {maxTokensPerUser: 2.5}}\n", []string{"auth.experimentalRefreshToken.maxTokensPerUser: must be a positive whole number"}},
	} {
		wantProblems(t, tc.yaml, tc.want...)
	}
}

// TestOAuthServerRoutesPerCombination is spec §1.2 as a table.
func TestOAuthServerRoutesPerCombination(t *testing.T) {
	auth := []string{config.RouteAuthorize, config.RouteSession, config.RouteApprove, config.RouteReject, config.RouteToken, config.RouteRevoke}
	for _, tc := range []struct {
		dcr, cimd, refresh bool
		routes             []string
		cimdClients        bool
		cliDocument        bool
	}{
		{false, false, false, nil, false, false},
		{false, false, true, nil, false, false},
		{true, false, false, append(append([]string(nil), auth...), config.RouteRegister), false, false},
		{true, false, true, append(append([]string(nil), auth...), config.RouteRegister), false, false},
		{false, true, false, auth, true, true},
		{false, true, true, auth, true, true},
		{true, true, false, append(append([]string(nil), auth...), config.RouteRegister), true, true},
		{true, true, true, append(append([]string(nil), auth...), config.RouteRegister), true, true},
	} {
		yaml := "auth:\n  session: {secret: s}\n" +
			"  experimentalDynamicClientRegistration: {enabled: " + bstr(tc.dcr) + "}\n" +
			"  clientIdMetadataDocuments: {enabled: " + bstr(tc.cimd) + "}\n" +
			"  experimentalRefreshToken: {enabled: " + bstr(tc.refresh) + "}\n"
		o := loadOAuth(t, yaml)
		name := "dcr=" + bstr(tc.dcr) + " cimd=" + bstr(tc.cimd) + " refresh=" + bstr(tc.refresh)
		if got := o.MountedRoutes(); !reflect.DeepEqual(got, tc.routes) {
			t.Errorf("%s: routes %q, want %q", name, got, tc.routes)
		}
		if o.Enabled() != (tc.dcr || tc.cimd) || o.AuthorizationRoutes() != (tc.dcr || tc.cimd) || o.RegistrationRoute() != tc.dcr {
			t.Errorf("%s: Enabled=%v AuthorizationRoutes=%v RegistrationRoute=%v", name, o.Enabled(), o.AuthorizationRoutes(), o.RegistrationRoute())
		}
		if o.AcceptsCIMDClients() != tc.cimdClients || o.ServesCLIClientDocument() != tc.cliDocument {
			t.Errorf("%s: AcceptsCIMDClients=%v ServesCLIClientDocument=%v", name, o.AcceptsCIMDClients(), o.ServesCLIClientDocument())
		}
		if o.IssuesRefreshTokens() != tc.refresh {
			t.Errorf("%s: IssuesRefreshTokens=%v", name, o.IssuesRefreshTokens())
		}
	}
}

func bstr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestValidateURLPattern(t *testing.T) {
	for p, ok := range map[string]bool{
		"*":                       true,
		"https://claude.ai/*":     true,
		"https://*.example.com/*": true,
		"http://localhost:*":      true,
		"http://localhost:*/*":    true,
		"http://[::1]:*/*":        true,
		"https://x.com:443/*":     true,
		"cursor://*":              true,
		"cursor:*":                true,
		"myapp://callback":        true,
		"https://x.com/a?b=*":     true,
		"HTTPS://Example.COM/x":   true,
		"claude.ai/*":             false,
		"":                        false,
		"*.example.com":           false,
		"1http://x/":              false,
		"https://":                false,
		"https:///path":           false,
		"http://localhost:99999/": false,
		"http://localhost:abc/":   false,
		"https://exa mple.com/":   false,
		"https://a.example\\b/":   false,
	} {
		err := config.ValidateURLPattern(p)
		if (err == nil) != ok {
			t.Errorf("ValidateURLPattern(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

// FuzzValidateURLPattern: any string is either accepted or refused with an
// error quoting it, never a panic.
func FuzzValidateURLPattern(f *testing.F) {
	for _, p := range append(cimd.DefaultDCRRedirectURIPatterns(), "*", "claude.ai/*", "https://[::1", "http://x:*", "cursor:*") {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if err := config.ValidateURLPattern(p); err != nil && !strings.Contains(err.Error(), "invalid URL pattern") {
			t.Errorf("%q: %v", p, err)
		}
	})
}

func TestRefreshTokensNeedTheSessionSecret(t *testing.T) {
	wantProblems(t, "auth:\n  clientIdMetadataDocuments: {enabled: true}\n  experimentalRefreshToken: {enabled: true}\n",
		"auth.session.secret: required when auth.experimentalRefreshToken is enabled")
	loadOAuth(t, "auth:\n  session: {secret: s}\n  clientIdMetadataDocuments: {enabled: true}\n  experimentalRefreshToken: {enabled: true}\n")
}
