package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/providers/oidc"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
	"github.com/gatehouse-auth/gatehouse/providers/vmwarecloud"
)

// fakeEnv returns Options backed by m for both ${VAR} lookups and
// APP_CONFIG_ overrides.
func fakeEnv(m map[string]string) Options {
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		Environ: func() []string {
			var out []string
			for k, v := range m {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

const baseYAML = `
app:
  baseUrl: http://localhost:3000
backend:
  baseUrl: http://localhost:7007
auth:
  session:
    secret: s3cret-session
  providers:
    vcfsso:
      development:
        metadataUrl: https://sso.example.com/
        clientId: my-client
        clientSecret: my-client-secret
`

// writeFile writes content to dir/name (creating parent dirs) and returns
// the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, env map[string]string, contents ...string) *Config {
	t.Helper()
	cfg, err := loadContents(t, env, contents...)
	if err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
	return cfg
}

func loadContents(t *testing.T, env map[string]string, contents ...string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, c := range contents {
		files = append(files, writeFile(t, dir, "app-config."+string(rune('a'+i))+".yaml", c))
	}
	return LoadWith(files, fakeEnv(env))
}

// problemsOf returns the problem strings of err, failing if err is not a
// Problems.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("expected problems, got nil error")
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestMergeOrder(t *testing.T) {
	second := `
backend:
  listen:
    port: 8080
auth:
  experimentalExtraAllowedOrigins: [https://b.example.com]
  providers:
    vcfsso:
      development:
        clientId: override-client
        startUrlSearchParams:
          acr.values: "2fa"
      production:
        metadataUrl: https://prod.example.com/
        clientId: prod
        clientSecret: prod-secret
`
	first := baseYAML + `
  experimentalExtraAllowedOrigins: [https://a1.example.com, https://a2.example.com]
`
	cfg := mustLoad(t, nil, first, second)
	if cfg.App.BaseURL != "http://localhost:3000" {
		t.Errorf("app.baseUrl = %q", cfg.App.BaseURL)
	}
	if cfg.Backend.Listen.Port != 8080 {
		t.Errorf("port = %d, want 8080", cfg.Backend.Listen.Port)
	}
	if got := cfg.Auth.ExperimentalExtraAllowedOrigins; !reflect.DeepEqual(got, []string{"https://b.example.com"}) {
		t.Errorf("lists must replace, got %v", got)
	}
	dev := cfg.Auth.Providers["vcfsso"]["development"]
	if dev == nil || dev.Settings == nil {
		t.Fatalf("missing vcfsso development: %+v", cfg.Auth.Providers)
	}
	if oidcOf(dev).ClientID != "override-client" || oidcOf(dev).MetadataURL != "https://sso.example.com/" || oidcOf(dev).ClientSecret != "my-client-secret" {
		t.Errorf("deep merge failed: %+v", oidcOf(dev))
	}
	if got := oidcOf(dev).StartURLSearchParams; !reflect.DeepEqual(got, map[string]string{"acr.values": "2fa"}) {
		t.Errorf("dotted key lost: %v", got)
	}
	if prod := cfg.Auth.Providers["vcfsso"]["production"]; prod == nil || oidcOf(prod).ClientID != "prod" || prod.Path != "auth.providers.vcfsso.production" || prod.Env != "production" || prod.ProviderID != "vcfsso" {
		t.Errorf("production env: %+v", prod)
	}
	if len(cfg.Files) != 2 || !strings.HasSuffix(cfg.Files[0], "app-config.a.yaml") || !strings.HasSuffix(cfg.Files[1], "app-config.b.yaml") {
		t.Errorf("Files = %v", cfg.Files)
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, baseYAML)
	if cfg.Backend.Listen.Port != 7007 || cfg.Backend.Listen.Host != "" {
		t.Errorf("listen = %+v", cfg.Backend.Listen)
	}
	if cfg.Auth.Environment != "development" || cfg.Auth.BackstageTokenExpiration != time.Hour || !cfg.Auth.OmitIdentityTokenOwnershipClaim {
		t.Errorf("auth defaults = %+v", cfg.Auth)
	}
	o := oidcOf(cfg.Auth.Providers["vcfsso"]["development"])
	want := oidc.Config{
		MetadataURL: "https://sso.example.com/", ClientID: "my-client", ClientSecret: "my-client-secret",
		TokenEndpointAuthMethod: "client_secret_basic", TokenSignedResponseAlg: "RS256", Timeout: 10 * time.Second,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("OIDC = %+v, want %+v", o, want)
	}
}

func TestProviderSettings(t *testing.T) {
	cfg := mustLoad(t, nil, baseYAML+`
    oidc:
      development:
        metadataUrl: https://idp.example.com/.well-known/openid-configuration
        clientId: c
        clientSecret: s
        callbackUrl: http://localhost:7007/api/auth/oidc/handler/frame
        tokenEndpointAuthMethod: client_secret_post
        tokenSignedResponseAlg: ES256
        prompt: auto
        timeout: 2500
        sessionDuration: 2 days
        additionalScopes: "groups, offline_access|groups  roles"
      staging:
        metadataUrl: m
        clientId: c
        clientSecret: s
        timeout: 30s
        additionalScopes: [groups, "a b", groups]
`)
	o := cfg.Auth.Providers["oidc"]["development"]
	if o.CallbackURL != "http://localhost:7007/api/auth/oidc/handler/frame" || o.SessionDuration != 48*time.Hour {
		t.Errorf("common keys: %+v", o)
	}
	if !reflect.DeepEqual(o.AdditionalScopes, []string{"groups", "offline_access", "roles"}) {
		t.Errorf("scopes = %v", o.AdditionalScopes)
	}
	if oidcOf(o).TokenEndpointAuthMethod != "client_secret_post" || oidcOf(o).TokenSignedResponseAlg != "ES256" || oidcOf(o).Prompt != "auto" || oidcOf(o).Timeout != 2500*time.Millisecond {
		t.Errorf("oidc keys: %+v", oidcOf(o))
	}
	s := cfg.Auth.Providers["oidc"]["staging"]
	if oidcOf(s).Timeout != 30*time.Second || !reflect.DeepEqual(s.AdditionalScopes, []string{"groups", "a", "b"}) {
		t.Errorf("staging: %+v %v", oidcOf(s), s.AdditionalScopes)
	}
}

func TestSubstitution(t *testing.T) {
	env := map[string]string{"SESSION_SECRET": "from-env", "HOST": "sso.example.com"}
	tests := []struct {
		name      string
		value     string // YAML scalar for auth.session.secret
		want      string
		wantProbs []string
	}{
		{name: "whole value", value: "${SESSION_SECRET}", want: "from-env"},
		{name: "embedded", value: "pre-${SESSION_SECRET}-post-${ HOST }", want: "pre-from-env-post-sso.example.com"},
		{name: "escaped", value: "$${SESSION_SECRET}", want: "${SESSION_SECRET}"},
		{name: "escaped and real", value: "$${A}${HOST}", want: "${A}sso.example.com"},
		{name: "no braces", value: "$SESSION_SECRET", want: "$SESSION_SECRET"},
		{name: "unset", value: "${NOPE_UNSET}", wantProbs: []string{
			`auth.session.secret: environment variable "NOPE_UNSET" is not set`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := strings.Replace(baseYAML, "secret: s3cret-session", "secret: '"+tt.value+"'", 1)
			cfg, err := loadContents(t, env, y)
			if tt.wantProbs != nil {
				if got := problemsOf(t, err); !reflect.DeepEqual(got, tt.wantProbs) {
					t.Errorf("problems = %q, want %q", got, tt.wantProbs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Auth.SessionSecret != tt.want {
				t.Errorf("secret = %q, want %q", cfg.Auth.SessionSecret, tt.want)
			}
		})
	}
}

func TestSubstitutionInLists(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"ORIGIN": "https://x.example.com"}, baseYAML+`
  experimentalExtraAllowedOrigins: ["${ORIGIN}", "https://*.example.com"]
`)
	if !reflect.DeepEqual(cfg.Auth.ExperimentalExtraAllowedOrigins, []string{"https://x.example.com", "https://*.example.com"}) {
		t.Errorf("got %v", cfg.Auth.ExperimentalExtraAllowedOrigins)
	}
}

func TestIncludes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "conf/secrets/client-secret.txt", "file-secret")
	writeFile(t, dir, "conf/inc/provider.yaml", `
vcfsso:
  development:
    metadataUrl: https://included.example.com/
    clientId: included
    clientSecret:
      $file: ../secrets/client-secret.txt
`)
	writeFile(t, dir, "conf/inc/data.json", `{"nested": {"origins": ["https://json.example.com"]}}`)
	writeFile(t, dir, "conf/inc/env.txt", "staging-text")
	main := writeFile(t, dir, "conf/app-config.yaml", `
app:
  baseUrl: http://localhost:3000
backend:
  baseUrl: http://localhost:7007
auth:
  environment:
    $include: inc/env.txt
  session:
    secret:
      $env: SESSION_SECRET
  experimentalExtraAllowedOrigins:
    $include: inc/data.json#nested.origins
  providers:
    $include: inc/provider.yaml
`)
	cfg, err := LoadWith([]string{main}, fakeEnv(map[string]string{"SESSION_SECRET": "env-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.SessionSecret != "env-secret" {
		t.Errorf("$env: %q", cfg.Auth.SessionSecret)
	}
	if cfg.Auth.Environment != "staging-text" {
		t.Errorf("$include text: %q", cfg.Auth.Environment)
	}
	if !reflect.DeepEqual(cfg.Auth.ExperimentalExtraAllowedOrigins, []string{"https://json.example.com"}) {
		t.Errorf("$include json#sel: %v", cfg.Auth.ExperimentalExtraAllowedOrigins)
	}
	o := oidcOf(cfg.Auth.Providers["vcfsso"]["development"])
	if o.ClientID != "included" || o.ClientSecret != "file-secret" {
		t.Errorf("$include yaml with nested $file relative to the included file: %+v", o)
	}
}

func TestIncludeErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string // YAML for auth.session.secret's value (indented block)
		want   string // substring of the single problem
	}{
		{"env unset", "{$env: MISSING_VAR}", `auth.session.secret: environment variable "MISSING_VAR" is not set`},
		{"file missing", "{$file: nope.txt}", `auth.session.secret: $file "nope.txt": open: no such file or directory`},
		{"include missing", "{$include: nope.yaml}", `auth.session.secret: $include "nope.yaml": open`},
		{"include bad selector", "{$include: inc.yaml#a.zz}", `auth.session.secret: $include "inc.yaml#a.zz": key "a.zz" not found in inc.yaml`},
		{"adjacent keys", "{$file: x.txt, other: 1}", `auth.session.secret: $file must be the only key of its map`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "inc.yaml", "a:\n  b: 1\n")
			y := strings.Replace(baseYAML, "secret: s3cret-session", "secret: "+tt.secret, 1)
			f := writeFile(t, dir, "app-config.yaml", y)
			_, err := LoadWith([]string{f}, fakeEnv(nil))
			got := problemsOf(t, err)
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("problems = %q, want one starting with %q", got, tt.want)
			}
		})
	}
}

func TestLoadBytesRelativeToWorkingDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "secret.txt", "wd-secret")
	t.Chdir(dir)
	y := strings.Replace(baseYAML, "secret: s3cret-session", "secret: {$file: secret.txt}", 1)
	cfg, err := LoadBytes("inline.yaml", []byte(y), fakeEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.SessionSecret != "wd-secret" || !reflect.DeepEqual(cfg.Files, []string{"inline.yaml"}) {
		t.Errorf("got %q %v", cfg.Auth.SessionSecret, cfg.Files)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"APP_CONFIG_backend_listen_port":                                      "7008",
		"APP_CONFIG_auth_session_secret":                                      "abc",
		"APP_CONFIG_auth_providers_vcfsso_development_clientId":               `"quoted"`,
		"APP_CONFIG_auth_providers_vcfsso_development_additionalScopes":       `["x","y"]`,
		"APP_CONFIG_auth_omitIdentityTokenOwnershipClaim":                     "false",
		"APP_CONFIG_auth_providers_vcfsso_development_tokenSignedResponseAlg": "PS256",
		"APP_CONFIG_auth_environment":                                         "${NOT_SUBSTITUTED}",
		"UNRELATED":                                                           "1",
	}
	cfg := mustLoad(t, env, baseYAML+"\n  backstageTokenExpiration: 2h\n")
	if cfg.Backend.Listen.Port != 7008 {
		t.Errorf("port = %d", cfg.Backend.Listen.Port)
	}
	if cfg.Auth.SessionSecret != "abc" {
		t.Errorf("secret = %q", cfg.Auth.SessionSecret)
	}
	if cfg.Auth.Environment != "${NOT_SUBSTITUTED}" {
		t.Errorf("environment = %q", cfg.Auth.Environment)
	}
	if cfg.Auth.OmitIdentityTokenOwnershipClaim {
		t.Error("omitIdentityTokenOwnershipClaim should be false (JSON boolean)")
	}
	if cfg.Auth.BackstageTokenExpiration != 2*time.Hour {
		t.Errorf("file value lost: %v", cfg.Auth.BackstageTokenExpiration)
	}
	pe := cfg.Auth.Providers["vcfsso"]["development"]
	if oidcOf(pe).ClientID != "quoted" || oidcOf(pe).MetadataURL != "https://sso.example.com/" || oidcOf(pe).TokenSignedResponseAlg != "PS256" {
		t.Errorf("provider = %+v", oidcOf(pe))
	}
	if !reflect.DeepEqual(pe.AdditionalScopes, []string{"x", "y"}) {
		t.Errorf("scopes = %v", pe.AdditionalScopes)
	}
}

func TestEnvOverrideProblems(t *testing.T) {
	_, err := loadContents(t, map[string]string{
		"APP_CONFIG_backend__port":       "1",
		"APP_CONFIG_backend_listen_port": `"abc"`,
		"APP_CONFIG_auth_session_secret": "top-secret-value",
		"APP_CONFIG_auth_session":        "5",
	}, baseYAML)
	got := problemsOf(t, err)
	want := []string{
		"APP_CONFIG_auth_session_secret: cannot set auth.session.secret: auth.session is already set to a non-map value by another APP_CONFIG_ variable",
		"APP_CONFIG_backend__port: invalid config key: empty part between underscores",
		"auth.session: expected a map, got a number",
		"auth.session.secret: required when auth providers are configured (it keys the sealed login cookie)",
		`backend.listen.port: expected a number, got "abc"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "top-secret-value") {
		t.Error("secret value leaked into problems")
	}
}

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in      any
		want    time.Duration
		wantErr string
	}{
		{"24h", 24 * time.Hour, ""},
		{"2 days", 2 * day, ""},
		{"1.5h", 90 * time.Minute, ""},
		{".5s", 500 * time.Millisecond, ""},
		{"100ms", 100 * time.Millisecond, ""},
		{"10 MSECS", 10 * time.Millisecond, ""},
		{"30m", 30 * time.Minute, ""},
		{"5 mins", 5 * time.Minute, ""},
		{"3 hrs", 3 * time.Hour, ""},
		{"1w", 7 * day, ""},
		{"2 weeks", 14 * day, ""},
		{"1y", time.Duration(365.25 * float64(day)), ""},
		{"1 Year", time.Duration(365.25 * float64(day)), ""},
		{"10 seconds", 10 * time.Second, ""},
		{"1 sec", time.Second, ""},
		{"PT1H", time.Hour, ""},
		{"P1D", day, ""},
		{"P1Y2M", 365*day + 60*day, ""},
		{"P1W", 7 * day, ""},
		{"PT1H30M15.5S", time.Hour + 30*time.Minute + 15500*time.Millisecond, ""},
		{"PT0,5S", 500 * time.Millisecond, ""},
		{"P1DT12H", 36 * time.Hour, ""},
		{map[string]any{"hours": 1, "minutes": 30}, 90 * time.Minute, ""},
		{map[string]any{"years": 1, "months": 1, "weeks": 1, "days": 1, "seconds": 1.5, "milliseconds": 500}, 365*day + 30*day + 7*day + day + 2*time.Second, ""},
		{map[string]any{"hours": 1, "fortnights": 2}, 0, `unknown duration key "fortnights"`},
		{map[string]any{"hours": "1"}, 0, `duration key "hours": expected a number`},
		{map[string]any{}, 0, "needs at least one of"},
		{"3600", 0, "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{" 42 ", 0, "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{"1.5", 0, "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{3600, 0, "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{1.5, 0, "The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'"},
		{"forever", 0, `invalid duration "forever"`},
		{"10 parsecs", 0, `invalid duration "10 parsecs"`},
		{"", 0, `invalid duration ""`},
		{"P", 0, `invalid ISO 8601 duration "P"`},
		{"PT", 0, `invalid ISO 8601 duration "PT"`},
		{"P1H", 0, `invalid ISO 8601 duration "P1H"`},
		{true, 0, "expected a duration"},
		{nil, 0, "expected a duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDuration(%#v) err = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%#v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseDuration(7); err == nil || err.Error() != plainNumberMessage {
		t.Errorf("exact plain-number message: %v", err)
	}
}

func TestBackstageTokenExpiration(t *testing.T) {
	tests := []struct {
		yaml string
		want time.Duration
	}{
		{"", time.Hour},
		{"backstageTokenExpiration: 30m", 30 * time.Minute},
		{"backstageTokenExpiration: 1m", 10 * time.Minute},
		{"backstageTokenExpiration: 7 days", 24 * time.Hour},
		{"backstageTokenExpiration: {hours: 2}", 2 * time.Hour},
		{"backstageTokenExpiration: PT12H", 12 * time.Hour},
	}
	for _, tt := range tests {
		cfg := mustLoad(t, nil, baseYAML+"\n  "+tt.yaml+"\n")
		if cfg.Auth.BackstageTokenExpiration != tt.want {
			t.Errorf("%q: got %v, want %v", tt.yaml, cfg.Auth.BackstageTokenExpiration, tt.want)
		}
	}
}

func TestListen(t *testing.T) {
	tests := []struct {
		listen   string
		host     string
		port     int
		wantProb string
	}{
		{`":7010"`, "", 7010, ""},
		{`"127.0.0.1:7011"`, "127.0.0.1", 7011, ""},
		{`"7012"`, "", 7012, ""},
		{`"[::1]:7013"`, "::1", 7013, ""},
		{`{host: 0.0.0.0, port: "7014"}`, "0.0.0.0", 7014, ""},
		{`{port: abc}`, "", 0, `backend.listen.port: expected a number, got "abc"`},
		{`{port: 70000}`, "", 0, `backend.listen.port: expected a port number between 0 and 65535, got 70000`},
		{`"host:port"`, "", 0, `backend.listen: unable to parse listen address "host:port", expected <port> or <host>:<port>`},
	}
	for _, tt := range tests {
		y := strings.Replace(baseYAML, "baseUrl: http://localhost:7007", "baseUrl: http://localhost:7007\n  listen: "+tt.listen, 1)
		cfg, err := loadContents(t, nil, y)
		if tt.wantProb != "" {
			if got := problemsOf(t, err); !reflect.DeepEqual(got, []string{tt.wantProb}) {
				t.Errorf("%s: problems = %q", tt.listen, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.listen, err)
			continue
		}
		if cfg.Backend.Listen.Host != tt.host || cfg.Backend.Listen.Port != tt.port {
			t.Errorf("%s: got %+v", tt.listen, cfg.Backend.Listen)
		}
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{
			name: "scope key",
			yaml: baseYAML + "        scope: openid profile\n",
			want: []string{`auth.providers.vcfsso.development.scope: The vcfsso provider no longer supports the "scope" configuration option. Please use the "additionalScopes" option instead.`},
		},
		{
			name: "scope key oidc",
			yaml: baseYAML + "    oidc:\n      dev:\n        metadataUrl: m\n        clientId: c\n        clientSecret: s\n        scope: openid\n",
			want: []string{`auth.providers.oidc.dev.scope: The oidc provider no longer supports the "scope" configuration option. Please use the "additionalScopes" option instead.`},
		},
		{
			name: "unknown provider",
			yaml: baseYAML + "    foo:\n      development:\n        clientId: x\n",
			want: []string{`auth.providers.foo: unknown provider "foo"; supported: oidc, vcfsso, vmwareCloudServices`},
		},
		{
			name: "typo with hint",
			yaml: strings.Replace(baseYAML, "metadataUrl:", "metdataUrl:", 1),
			want: []string{
				"auth.providers.vcfsso.development.metadataUrl: required",
				`auth.providers.vcfsso.development.metdataUrl: unknown key (did you mean "metadataUrl"?)`,
			},
		},
		{
			name: "typo without hint, in session and signIn",
			yaml: baseYAML + "        signIn:\n          resolver: []\n          somethingElse: 1\n",
			want: []string{
				`auth.providers.vcfsso.development.signIn.resolver: unknown key (did you mean "resolvers"?)`,
				`auth.providers.vcfsso.development.signIn.somethingElse: unknown key`,
			},
		},
		{
			name: "session typo",
			yaml: strings.Replace(baseYAML, "secret: s3cret-session", "secret: s3cret-session\n    secrte: x", 1),
			want: []string{`auth.session.secrte: unknown key (did you mean "secret"?)`},
		},
		{
			name: "missing required, all at once, sorted",
			yaml: `
auth:
  providers:
    vcfsso:
      development:
        clientId: c
      production: {}
`,
			want: []string{
				"app.baseUrl: required",
				"auth.providers.vcfsso.development.clientSecret: required",
				"auth.providers.vcfsso.development.metadataUrl: required",
				"auth.providers.vcfsso.production.clientId: required",
				"auth.providers.vcfsso.production.clientSecret: required",
				"auth.providers.vcfsso.production.metadataUrl: required",
				"auth.session.secret: required when auth providers are configured (it keys the sealed login cookie)",
				"backend.baseUrl: required",
			},
		},
		{
			name: "empty strings are missing",
			yaml: strings.Replace(baseYAML, "clientId: my-client", `clientId: ""`, 1),
			want: []string{"auth.providers.vcfsso.development.clientId: required"},
		},
		{
			name: "bad values",
			yaml: baseYAML + `        tokenEndpointAuthMethod: private_key_jwt
        timeout: soon
        sessionDuration: 3600
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - allowedDomains: [example.com]
            - just-a-string
`,
			want: []string{
				`auth.providers.vcfsso.development.sessionDuration: The value cannot be a plain number; try adding a unit like 'ms' or 'seconds'`,
				`auth.providers.vcfsso.development.signIn.resolvers[1].resolver: required`,
				`auth.providers.vcfsso.development.signIn.resolvers[2]: expected a map with a "resolver" key, got "just-a-string"`,
				`auth.providers.vcfsso.development.timeout: invalid duration "soon"; expected e.g. "24h", "2 days" or an ISO 8601 duration like "PT1H"`,
				`auth.providers.vcfsso.development.tokenEndpointAuthMethod: must be "client_secret_basic" or "client_secret_post", got "private_key_jwt"`,
			},
		},
		{
			name: "secret values never shown",
			yaml: strings.Replace(baseYAML, "clientSecret: my-client-secret", "clientSecret: [my-client-secret]", 1),
			want: []string{"auth.providers.vcfsso.development.clientSecret: expected a string, got a list"},
		},
		{
			name: "duration object unknown key",
			yaml: baseYAML + "  backstageTokenExpiration: {hours: 1, hourz: 2}\n",
			want: []string{`auth.backstageTokenExpiration: unknown duration key "hourz"; expected one of years, months, weeks, days, hours, minutes, seconds, milliseconds`},
		},
		{
			name: "type errors elsewhere",
			yaml: baseYAML + "  omitIdentityTokenOwnershipClaim: maybe\n  experimentalExtraAllowedOrigins: {a: b}\n",
			want: []string{
				`auth.experimentalExtraAllowedOrigins: expected a list, got a map`,
				`auth.omitIdentityTokenOwnershipClaim: expected a boolean, got "maybe"`,
			},
		},
		{
			name: "provider env not a map",
			yaml: baseYAML + "    oidc:\n      development: yes-please\n",
			want: []string{`auth.providers.oidc.development: expected a map, got a string`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadContents(t, tt.env, tt.yaml)
			got := problemsOf(t, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(err.Error(), "my-client-secret") || strings.Contains(err.Error(), "s3cret-session") {
				t.Errorf("secret leaked: %v", err)
			}
			if !slices.IsSortedFunc(err.(Problems), func(a, b Problem) int { return strings.Compare(a.Path, b.Path) }) {
				t.Error("problems not sorted by path")
			}
		})
	}
}

func TestUnknownKeysElsewhereIgnored(t *testing.T) {
	cfg := mustLoad(t, nil, `
app:
  baseUrl: http://localhost:3000
  title: My Backstage
  support: {url: https://example.com}
backend:
  baseUrl: http://localhost:7007
  database: {client: better-sqlite3, connection: ':memory:'}
  cors: {origin: http://localhost:3000}
organization: {name: Acme}
techdocs: {builder: local}
integrations:
  github: [{host: github.com, token: x}]
catalog:
  rules: [{allow: [Component, User]}]
  locations:
    - type: file
      target: ../../examples/org.yaml
      rules: [{allow: [User]}]
    - type: url
      target: https://example.com/catalog-info.yaml
auth:
  keyStore: {provider: memory}
  identityTokenAlgorithm: ES256
  session: {secret: s}
  providers:
    oidc:
      development:
        metadataUrl: m
        clientId: c
        clientSecret: s
`)
	want := []Location{{Type: "file", Target: "../../examples/org.yaml"}, {Type: "url", Target: "https://example.com/catalog-info.yaml"}}
	if !reflect.DeepEqual(cfg.Catalog.Locations, want) {
		t.Errorf("locations = %+v", cfg.Catalog.Locations)
	}
}

func TestNoProvidersNoSecretNeeded(t *testing.T) {
	cfg := mustLoad(t, nil, "app: {baseUrl: a}\nbackend: {baseUrl: b}\n")
	if cfg.Auth.Providers != nil || cfg.Auth.SessionSecret != "" {
		t.Errorf("auth = %+v", cfg.Auth)
	}
}

func TestResolverSteps(t *testing.T) {
	cfg := mustLoad(t, nil, baseYAML+`        signIn:
          resolvers:
            - resolver: emailLocalPartMatchingUserEntityName
              allowedDomains: [example.com]
            - resolver: emailMatchingUserEntityProfileEmail
          profileTransforms:
            - transform: claims
              map: {name: preferred_username}
`)
	si := cfg.Auth.Providers["vcfsso"]["development"].SignIn
	p := "auth.providers.vcfsso.development.signIn."
	want := SignIn{
		Resolvers: []Step{
			{Name: "emailLocalPartMatchingUserEntityName", Options: map[string]any{"allowedDomains": []any{"example.com"}}, Path: p + "resolvers[0]"},
			{Name: "emailMatchingUserEntityProfileEmail", Options: nil, Path: p + "resolvers[1]"},
		},
		ProfileTransforms: []Step{
			{Name: "claims", Options: map[string]any{"map": map[string]any{"name": "preferred_username"}}, Path: p + "profileTransforms[0]"},
		},
	}
	if !reflect.DeepEqual(si, want) {
		t.Errorf("signIn =\n%#v\nwant\n%#v", si, want)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "a-bad.yaml", "app:\n  baseUrl: x\n bad: [\n")
	dup := writeFile(t, dir, "b-dup.yaml", "app:\n  baseUrl: x\napp: {}\n")
	list := writeFile(t, dir, "c-list.yaml", "- a\n- b\n")
	missing := filepath.Join(dir, "d-missing.yaml")
	_, err := LoadWith([]string{bad, dup, list, missing}, fakeEnv(nil))
	got := problemsOf(t, err)
	if len(got) != 4 {
		t.Fatalf("problems = %q", got)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:\d+: \S`).MatchString(got[0]) {
		t.Errorf("yaml error without line: %q", got[0])
	}
	if got[1] != dup+`:3: mapping key "app" already defined at line 1` {
		t.Errorf("duplicate key: %q", got[1])
	}
	if got[2] != list+": the top level must be a map of keys, got a list" {
		t.Errorf("list doc: %q", got[2])
	}
	if got[3] != missing+": open: no such file or directory" {
		t.Errorf("missing: %q", got[3])
	}
}

func TestEmptyFile(t *testing.T) {
	cfg := mustLoad(t, nil, baseYAML, "", "# only a comment\n")
	if cfg.App.BaseURL == "" {
		t.Error("empty files must not wipe earlier ones")
	}
}

func TestSupportedProviders(t *testing.T) {
	if got := SupportedProviders(); !reflect.DeepEqual(got, []string{"oidc", "vcfsso", "vmwareCloudServices"}) {
		t.Errorf("got %v", got)
	}
}

func TestProblemsFormatting(t *testing.T) {
	ps := Problems{{Path: "a.b", Message: "required"}, {Message: "bare"}}
	if ps.Error() != "a.b: required\nbare" {
		t.Errorf("got %q", ps.Error())
	}
}

func TestLoadUsesOSEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_SECRET", "os-secret")
	t.Setenv("APP_CONFIG_backend_listen_port", "7099")
	dir := t.TempDir()
	f := writeFile(t, dir, "app-config.yaml", strings.Replace(baseYAML, "s3cret-session", "${GATEHOUSE_TEST_SECRET}", 1))
	cfg, err := Load([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.SessionSecret != "os-secret" || cfg.Backend.Listen.Port != 7099 {
		t.Errorf("got %q %d", cfg.Auth.SessionSecret, cfg.Backend.Listen.Port)
	}
}

// An app-config shared with Backstage references variables of plugins
// Gatehouse never runs; only unset variables at keys Gatehouse reads fail.
func TestUnsetVariablesOnlyWhereRead(t *testing.T) {
	base := `
app: {baseUrl: http://localhost:3000, title: '${APP_TITLE}'}
backend: {baseUrl: http://localhost:7007}
integrations:
  github: [{host: github.com, token: '${GITHUB_TOKEN}'}]
techdocs: {publisher: {awsS3: {credentials: {$env: AWS_KEY}}}}
`
	mustLoad(t, nil, base)
	_, err := loadContents(t, nil, base, `auth: {session: {secret: '${AUTH_SESSION_SECRET}'}}`)
	got := problemsOf(t, err)
	if len(got) != 1 || got[0] != `auth.session.secret: environment variable "AUTH_SESSION_SECRET" is not set` {
		t.Errorf("problems = %q", got)
	}
}

// The block of Backstage's VMware Cloud docs loads unchanged.
func TestVMwareCloudServices(t *testing.T) {
	env := map[string]string{"SESSION_SECRET": "s", "APP_ID": "app-id", "ORG_ID": "org-id"}
	head := "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007}\n"
	cfg := mustLoad(t, env, head+`
auth:
  environment: development
  session:
    secret: ${SESSION_SECRET}
  providers:
    vmwareCloudServices:
      development:
        clientId: ${APP_ID}
        organizationId: ${ORG_ID}
        sessionDuration: { hours: 24 }
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
`)
	pe := cfg.Auth.Providers["vmwareCloudServices"]["development"]
	want := vmwarecloud.Config{ClientID: "app-id", OrganizationID: "org-id", ConsoleEndpoint: "https://console.cloud.vmware.com", Timeout: 10 * time.Second}
	if got, _ := pe.Settings.(vmwarecloud.Config); !reflect.DeepEqual(got, want) || pe.SessionDuration != 24*time.Hour || len(pe.SignIn.Resolvers) != 1 {
		t.Errorf("got %+v %+v", pe, pe.Settings)
	}
	_, err := loadContents(t, env, head+`
auth:
  session: {secret: s}
  providers:
    vmwareCloudServices:
      development:
        scope: openid
        consoleEndpoint: http://127.0.0.1:1/
`)
	got := problemsOf(t, err)
	wantPs := []string{
		"auth.providers.vmwareCloudServices.development.clientId: required",
		"auth.providers.vmwareCloudServices.development.organizationId: required",
		`auth.providers.vmwareCloudServices.development.scope: The vmware-cloud provider no longer supports the "scope" configuration option. Please use the "additionalScopes" option instead.`,
	}
	if !reflect.DeepEqual(got, wantPs) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantPs, "\n"))
	}
}

// oidcOf is the oidc settings of an oidc or vcfsso environment.
func oidcOf(pe *ProviderEnv) oidc.Config {
	switch c := pe.Settings.(type) {
	case oidc.Config:
		return c
	case vcfsso.Config:
		return c.Config
	}
	return oidc.Config{}
}
