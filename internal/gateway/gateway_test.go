package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/keypath"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/builtin"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// base is the smallest config Build accepts: app and backend base URLs.
const base = "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007}\n"

// load decodes an app-config given as YAML text, failing the test on any
// loading problem (these tests are about what Build does with a config).
func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes("app-config.yaml", []byte(yaml), config.Options{})
	if err != nil {
		t.Fatalf("loading:\n%s\n%v", yaml, err)
	}
	return cfg
}

// quiet is a logger for gateways whose log the test does not read.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// build builds a gateway that the test closes when it ends.
func build(t *testing.T, cfg *config.Config, o Options) *Gateway {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	gw, err := Build(cfg, o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { gw.Close(context.Background()) })
	return gw
}

// writeFile writes body to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuildWithoutProviders: a config naming no provider builds a gateway
// whose accessors hand out what it was built from and what it opened.
func TestBuildWithoutProviders(t *testing.T) {
	cfg := load(t, base)
	reg := prometheus.NewRegistry()
	gw := build(t, cfg, Options{Registry: reg})
	if gw.Config() != cfg {
		t.Error("Config is not the config built from")
	}
	if gw.Registry() != reg {
		t.Error("Registry is not Options.Registry")
	}
	if gw.Catalog() == nil || gw.Tokens() == nil || gw.PluginKeys() == nil || gw.Modules() == nil {
		t.Fatalf("catalog %v, tokens %v, plugin keys %v, modules %v: want all set", gw.Catalog(), gw.Tokens(), gw.PluginKeys(), gw.Modules())
	}
	if _, ok := gw.Catalog().(*catalog.FileCatalog); !ok {
		t.Errorf("catalog %T, want the file catalog by default", gw.Catalog())
	}
	if pe, ok := gw.Env("vcfsso", "development"); ok || pe != nil {
		t.Errorf("Env of an unconfigured provider: %v %v", pe, ok)
	}
	if got := gw.DefaultTransform("vcfsso"); got != "" {
		t.Errorf("DefaultTransform of an unconfigured provider: %q", got)
	}
	// The memory key store it fell back on issues tokens it verifies.
	ctx := context.Background()
	tok, err := gw.Tokens().IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := gw.Tokens().VerifyUserToken(ctx, tok.Token); err != nil || v.Sub != "user:default/alice" {
		t.Fatalf("verify: %v %v", v, err)
	}
}

// TestBuildEachProviderKind: every kind of the registry opens from its
// required keys alone, with the registry's default transform, and without
// contacting its IdP.
func TestBuildEachProviderKind(t *testing.T) {
	settings := map[string]string{
		"oidc":                "{metadataUrl: 'http://127.0.0.1:1/', clientId: c, clientSecret: s}",
		"vcfsso":              "{metadataUrl: 'http://127.0.0.1:1/acs/t/CUSTOMER/', clientId: c, clientSecret: s}",
		"vmwareCloudServices": "{clientId: c, organizationId: o, consoleEndpoint: 'http://127.0.0.1:1'}",
	}
	for id := range builtin.Registry {
		if _, ok := settings[id]; !ok {
			t.Errorf("provider kind %q has no case here", id)
		}
	}
	for id, s := range settings {
		t.Run(id, func(t *testing.T) {
			gw := build(t, load(t, base+"auth:\n  session: {secret: test-secret}\n  providers:\n    "+id+":\n      development: "+s+"\n"), Options{})
			pe, ok := gw.Env(id, "development")
			if !ok || pe.Provider == nil || pe.Transforms == nil {
				t.Fatalf("Env(%s, development) = %+v, %v", id, pe, ok)
			}
			if pe.Resolver != nil {
				t.Errorf("a resolver without signIn.resolvers: %v", pe.Resolver)
			}
			if _, ok := gw.Env(id, "production"); ok {
				t.Error("an unconfigured environment is open")
			}
			if got, want := gw.DefaultTransform(id), builtin.Registry[id].DefaultTransform; got != want || got == "" {
				t.Errorf("DefaultTransform = %q, want %q", got, want)
			}
		})
	}
}

// TestBuildResolverChain: signIn.resolvers become the environment's chain,
// and each resolver run is timed under its name.
func TestBuildResolverChain(t *testing.T) {
	dir := t.TempDir()
	users := writeFile(t, dir, "users.yaml", `apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@example.com}, memberOf: []}
`)
	gw := build(t, load(t, base+`catalog:
  locations: [{type: file, target: `+users+`}]
`+vcfssoAuth("", "          resolvers: [{resolver: emailMatchingUserEntityProfileEmail}]\n")), Options{})
	pe, ok := gw.Env("vcfsso", "development")
	if !ok || pe.Resolver == nil {
		t.Fatalf("no resolver chain: %+v", pe)
	}
	res, err := pe.Resolver.Resolve(context.Background(), resolvers.SignInInput{ProviderID: "vcfsso", Profile: providers.Profile{Email: "alice@example.com"}})
	if err != nil || res.UserEntityRef != "user:default/alice" {
		t.Fatalf("Resolve = %+v, %v", res, err)
	}
	if line := `gatehouse_resolver_duration_seconds_count{kind="builtin",outcome="matched",resolver="emailMatchingUserEntityProfileEmail"} 1`; !scrapes(t, gw, line) {
		t.Errorf("/metrics lacks %s", line)
	}
}

// vcfssoAuth is an auth block with more (lines under auth) and one
// vcfsso environment, whose IdP is unreachable, with signIn (lines
// indented under signIn).
func vcfssoAuth(more, signIn string) string {
	return "auth:\n  session: {secret: test-secret}\n" + more +
		"  providers:\n    vcfsso:\n      development:\n        metadataUrl: http://127.0.0.1:1/\n        clientId: c\n        clientSecret: s\n        signIn:\n" + signIn
}

// scrapes reports whether gw's /metrics has the exposition line line
// (labels in Prometheus' order: sorted by name).
func scrapes(t *testing.T, gw *Gateway, line string) bool {
	t.Helper()
	rec := httptest.NewRecorder()
	gw.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return slices.Contains(strings.Split(rec.Body.String(), "\n"), line)
}

// TestBuildReportsEveryProblemAtOnce: problems of the catalog, the key
// store, the modules, the transforms and the resolvers come out of one
// Build, sorted by key path, and nothing stays open.
func TestBuildReportsEveryProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := load(t, base+`catalog:
  locations: [{type: file, target: `+filepath.Join(dir, "missing-catalog.yaml")+`}]
`+vcfssoAuth(
		"  keyStore:\n    provider: static\n    static:\n      keys: [{keyId: k, publicKeyFile: "+filepath.Join(dir, "missing.pub")+", privateKeyFile: "+filepath.Join(dir, "missing.key")+"}]\n",
		"          profileTransforms: [{transform: noSuchTransform}]\n          resolvers: [{resolver: noSuchResolver}]\n")+`gatehouse:
  dataDir: `+dir+`
  modules:
    broken: {path: `+filepath.Join(dir, "missing.wasm")+`}
`)
	closed := false
	gw, err := Build(cfg, Options{Logger: quiet(), Registry: prometheus.NewRegistry()})
	if gw != nil {
		gw.OnClose("never", func(context.Context) error { closed = true; return nil })
		t.Fatal("Build succeeded")
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %v, want config.Problems", err, err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{
		"auth.keyStore.static.keys[0]",
		"auth.providers.vcfsso.development.signIn.profileTransforms[0]",
		"auth.providers.vcfsso.development.signIn.resolvers[0]",
		"catalog.locations",
		"gatehouse.modules.broken",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("problem paths\n%q\nwant\n%q\n(%v)", paths, want, err)
	}
	if !slices.IsSorted(paths) {
		t.Errorf("problems not sorted by path: %q", paths)
	}
	if closed {
		t.Error("closed a gateway that was never returned")
	}
}

// TestBuildProblemPaths: each failing step's problem is at the key an
// operator must change.
func TestBuildProblemPaths(t *testing.T) {
	for _, c := range []struct {
		name, yaml, path, message string
	}{
		{
			name: "a provider environment that cannot open",
			yaml: base + "auth:\n  session: {secret: test-secret}\n  providers:\n    vcfsso:\n      development: {metadataUrl: not-a-url, clientId: c, clientSecret: s}\n",
			path: "auth.providers.vcfsso.development", message: "not-a-url",
		},
		{
			name: "a console endpoint that is not http(s)",
			yaml: base + "auth:\n  session: {secret: test-secret}\n  providers:\n    vmwareCloudServices:\n      development: {clientId: c, organizationId: o, consoleEndpoint: 'ftp://console'}\n",
			path: "auth.providers.vmwareCloudServices.development", message: "ftp://console",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(load(t, c.yaml), Options{Logger: quiet(), Registry: prometheus.NewRegistry()})
			var ps config.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || !strings.HasPrefix(ps[0].Path, c.path) || !strings.Contains(ps[0].Message, c.message) {
				t.Fatalf("Build: %v; want one problem at %s saying %q", err, c.path, c.message)
			}
		})
	}
}

// TestBuildStaticCatalogCredentialsWithoutToken: loading reports static
// catalog credentials without a static token, yet `check` builds from
// what loaded (config.LoadPartial); Build then names the same key.
func TestBuildStaticCatalogCredentialsWithoutToken(t *testing.T) {
	cfg := load(t, "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: http://localhost:7007\n  auth:\n    externalAccess:\n      - {type: static, options: {token: a-static-token-of-enough-length-0123456789, subject: gatehouse}}\n"+
		"gatehouse:\n  catalog: {source: backstage, credentials: static}\n")
	cfg.ExternalAccess = nil
	_, err := Build(cfg, Options{Logger: quiet(), Registry: prometheus.NewRegistry()})
	var ps config.Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "backend.auth.externalAccess" || !strings.Contains(ps[0].Message, "no static token") {
		t.Fatalf("Build: %v; want one problem at backend.auth.externalAccess", err)
	}
}

// TestBuildBackstageCatalog: gatehouse.catalog.source backstage queries the
// catalog at discovery's URL, signing with Gatehouse's plugin keys or
// sending the configured static token.
func TestBuildBackstageCatalog(t *testing.T) {
	auth := make(chan string, 1)
	backstage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case auth <- r.Header.Get("Authorization"):
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items": []}`)
	}))
	defer backstage.Close()
	discovery := "discovery:\n  endpoints:\n    - {target: '" + backstage.URL + "/api/{{pluginId}}', plugins: [catalog]}\n"
	for name, c := range map[string]struct {
		yaml       string
		authPrefix string
	}{
		"plugin credentials": {
			yaml:       base + discovery + "gatehouse:\n  catalog: {source: backstage, cacheTtl: 0}\n",
			authPrefix: "Bearer ey",
		},
		"static credentials": {
			yaml: "app: {baseUrl: http://localhost:3000}\nbackend:\n  baseUrl: http://localhost:7007\n  auth:\n    externalAccess:\n      - {type: static, options: {token: a-static-token-of-enough-length-0123456789, subject: gatehouse}}\n" +
				discovery + "gatehouse:\n  catalog: {source: backstage, credentials: static, cacheTtl: 0}\n",
			authPrefix: "Bearer a-static-token-of-enough-length-0123456789",
		},
	} {
		t.Run(name, func(t *testing.T) {
			gw := build(t, load(t, c.yaml), Options{})
			if _, ok := gw.Catalog().(*catalog.BackstageCatalog); !ok {
				t.Fatalf("catalog %T, want the Backstage catalog", gw.Catalog())
			}
			_, _ = gw.Catalog().FindUser(context.Background(), catalog.Query{EntityRef: "alice"})
			select {
			case got := <-auth:
				if !strings.HasPrefix(got, c.authPrefix) {
					t.Errorf("Authorization %q, want %s…", got, c.authPrefix)
				}
			default:
				t.Fatal("the catalog was not queried")
			}
		})
	}
}

// TestBuildStaticKeys: auth.keyStore.provider static signs with the
// configured key files and publishes their key id.
func TestBuildStaticKeys(t *testing.T) {
	dir := t.TempDir()
	priv, pub, err := identity.GenerateKeyPair("ES256")
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile := writeFile(t, dir, "k.key", string(priv)), writeFile(t, dir, "k.pub", string(pub))
	gw := build(t, load(t, base+"auth:\n  keyStore:\n    provider: static\n    static:\n      keys: [{keyId: static-1, publicKeyFile: "+pubFile+", privateKeyFile: "+privFile+"}]\n"), Options{})
	ctx := context.Background()
	tok, err := gw.Tokens().IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Tokens().VerifyUserToken(ctx, tok.Token); err != nil {
		t.Fatal(err)
	}
	jwks, err := gw.Tokens().JWKS(ctx)
	if err != nil || !strings.Contains(string(jwks), `"kid":"static-1"`) {
		t.Errorf("JWKS %s, %v", jwks, err)
	}
}

// TestProblemListKeepsKeyPaths: an error that names its own key paths
// keeps them; any other error is at the path of the step that failed.
func TestProblemListKeepsKeyPaths(t *testing.T) {
	var pl problemList
	pl.add("auth", config.Problems{{Path: "auth.a", Message: "one"}, {Path: "auth.b", Message: "two"}})
	pl.add("auth.providers.x", fmt.Errorf("wrapped: %w", keypath.Problems{{Path: "auth.providers.x.signIn.resolvers[1]", Message: "three"}}))
	pl.add("gatehouse.modules", errors.New("four"))
	want := config.Problems{
		{Path: "auth.a", Message: "one"},
		{Path: "auth.b", Message: "two"},
		{Path: "auth.providers.x.signIn.resolvers[1]", Message: "three"},
		{Path: "gatehouse.modules", Message: "four"},
	}
	if !slices.Equal(pl.Problems, want) {
		t.Errorf("problems %v, want %v", pl.Problems, want)
	}
}
