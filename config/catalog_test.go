package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

const catalogBase = `
app: {baseUrl: http://localhost:3000}
`

func TestCatalogSourceDefaults(t *testing.T) {
	cfg, err := LoadBytes("a.yaml", []byte(catalogBase+`backend: {baseUrl: "http://gatehouse.internal:7007/"}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := CatalogSource{Source: CatalogSourceFile, CacheTTL: DefaultCatalogCacheTTL, Timeout: catalog.DefaultBackstageTimeout, Credentials: CatalogCredentialsPlugin}
	if cfg.CatalogSource != want {
		t.Errorf("defaults = %+v, want %+v", cfg.CatalogSource, want)
	}
	if got := cfg.InternalBaseURL("catalog"); got != "http://gatehouse.internal:7007/api/catalog" {
		t.Errorf("catalog URL without discovery = %q", got)
	}
}

func TestCatalogSourceDecode(t *testing.T) {
	cfg, err := LoadBytes("a.yaml", []byte(catalogBase+`
backend:
  baseUrl: "http://gatehouse.internal:7007/"
  auth:
    externalAccess:
      - {type: legacy, options: {secret: c2VjcmV0}}
      - {type: static, options: {token: first-static-token, subject: ci}}
      - {type: static, options: {token: gatehouse-static-token, subject: gatehouse}}
discovery:
  endpoints:
    - target: http://backstage:7007/api/{{pluginId}}
      plugins: [catalog, scaffolder]
    - target: {internal: "http://auth:7007/api/{{ pluginId }}", external: https://bs.example.com/api/auth}
      plugins: [auth]
gatehouse:
  catalog:
    source: backstage
    cacheTtl: 0
    timeout: 2500
    credentials: static
    staticTokenSubject: gatehouse
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := CatalogSource{Source: CatalogSourceBackstage, CacheTTL: 0, Timeout: 2500 * time.Millisecond, Credentials: CatalogCredentialsStatic, StaticTokenSubject: "gatehouse"}
	if cfg.CatalogSource != want {
		t.Errorf("catalog source = %+v, want %+v", cfg.CatalogSource, want)
	}
	for plugin, url := range map[string]string{
		"catalog": "http://backstage:7007/api/catalog", "scaffolder": "http://backstage:7007/api/scaffolder",
		"auth": "http://auth:7007/api/auth", "search": "http://gatehouse.internal:7007/api/search",
	} {
		if got := cfg.InternalBaseURL(plugin); got != url {
			t.Errorf("InternalBaseURL(%s) = %q, want %q", plugin, got, url)
		}
	}
	ea, ok := cfg.StaticToken()
	if !ok || ea.Token != "gatehouse-static-token" || ea.Subject != "gatehouse" {
		t.Errorf("StaticToken() = %+v, %v", ea, ok)
	}
	if got := []string{cfg.ExternalAccess[0].Type, cfg.ExternalAccess[1].Type}; !reflect.DeepEqual(got, []string{"legacy", "static"}) {
		t.Errorf("externalAccess types = %v", got)
	}
	cfg.CatalogSource.StaticTokenSubject = ""
	if ea, _ := cfg.StaticToken(); ea.Token != "first-static-token" {
		t.Errorf("without a subject, StaticToken() = %+v, want the first static entry", ea)
	}
}

func TestCatalogSourceProblems(t *testing.T) {
	_, err := LoadBytes("a.yaml", []byte(catalogBase+`
backend:
  baseUrl: "http://gatehouse.internal:7007/"
  auth:
    externalAccess:
      - {type: static, options: {token: "has a space-secret", subject: x}}
discovery:
  endpoints:
    - {target: not-a-url, plugins: [catalog]}
    - {plugins: [auth]}
gatehouse:
  catalog:
    source: ldap
    credentials: static
    staticTokenSubject: nobody
    cachTtl: 5s
    timeout: -1
`), Options{})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	text := err.Error()
	for _, want := range []string{
		"gatehouse.catalog.source", `expected file or backstage, got "ldap"`,
		"gatehouse.catalog.cachTtl", `did you mean "cacheTtl"`,
		"gatehouse.catalog.timeout",
		"discovery.endpoints[0].target", `"not-a-url" is not an absolute URL`,
		"discovery.endpoints[1].target: required",
		"backend.auth.externalAccess[0].options.token: must not contain whitespace",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "space-secret") {
		t.Errorf("a problem shows the static token:\n%s", text)
	}
	_, err = LoadBytes("b.yaml", []byte(catalogBase+`
backend: {baseUrl: "http://gatehouse.internal:7007/"}
gatehouse:
  catalog: {source: backstage, credentials: static, staticTokenSubject: gatehouse}
`), Options{})
	if err == nil || !strings.Contains(err.Error(), `backend.auth.externalAccess: gatehouse.catalog.credentials is static but there is no static entry with subject "gatehouse"`) {
		t.Errorf("static credentials without a token: %v", err)
	}
}
