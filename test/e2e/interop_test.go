package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/backstagetest"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// interopEntities is the real catalog's directory. alice's membership of
// platform exists only as platform's spec.members, so her ownership refs
// can only come from relations the catalog computed.
func interopEntities() []catalog.Entity {
	return []catalog.Entity{
		{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: catalog.Metadata{Name: "alice"},
			Spec: map[string]any{"profile": map[string]any{"email": "alice@example.com"}, "memberOf": []any{"team-a"}}},
		{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: catalog.Metadata{Name: "dup1"},
			Spec: map[string]any{"profile": map[string]any{"email": "dup@example.com"}, "memberOf": []any{}}},
		{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: catalog.Metadata{Name: "dup2"},
			Spec: map[string]any{"profile": map[string]any{"email": "dup@example.com"}, "memberOf": []any{}}},
		{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: catalog.Metadata{Name: "team-a"},
			Spec: map[string]any{"type": "team", "children": []any{}}},
		{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: catalog.Metadata{Name: "platform"},
			Spec: map[string]any{"type": "team", "children": []any{}, "members": []any{"alice"}}},
	}
}

// catalogGET asks the real backend for its entities with the given bearer
// token and returns the status.
func catalogGET(t *testing.T, b *backstagetest.Backend, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", b.CatalogURL+"/entities?filter=kind=user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestBackstageInterop runs Gatehouse against a real Backstage backend
// (backend-defaults + the catalog plugin) whose discovery sends `auth` to
// Gatehouse: the catalog is Gatehouse's user directory, reached with
// Gatehouse's plugin tokens, and it accepts Gatehouse's user tokens.
func TestBackstageInterop(t *testing.T) {
	backstagetest.Require(t)
	port := backstagetest.FreePort(t)
	catalogURL := fmt.Sprintf("http://127.0.0.1:%d/api/catalog", port)
	h := newHarness(t, harnessOptions{extraYAML: func(string) string {
		return fmt.Sprintf(`
discovery:
  endpoints:
    - target: http://127.0.0.1:%d/api/{{pluginId}}
      plugins: [catalog]
gatehouse:
  catalog: {source: backstage, cacheTtl: 2s, timeout: 5s}
`, port)
	}})
	if _, ok := h.gw.Catalog().(*catalog.BackstageCatalog); !ok {
		t.Fatalf("gatehouse.catalog.source backstage opened a %T", h.gw.Catalog())
	}
	b := backstagetest.Start(t, backstagetest.Options{Entities: interopEntities(), AuthURL: h.base + "/api/auth", Port: port})
	if b.CatalogURL != catalogURL {
		t.Fatalf("backend at %s, want %s", b.CatalogURL, catalogURL)
	}

	// 1. A sign-in through the dev IdP, resolved against the real catalog
	// (its requests carry Gatehouse's plugin tokens): the ownership refs
	// are the catalog's relations, platform included.
	br := newBrowser(t)
	resp, body := br.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	msg := popupMessage(t, resp, body)
	r, ok := msg["response"].(map[string]any)
	if !ok {
		t.Fatalf("sign-in through the Backstage catalog failed: %v\n%s", msg, b.Logs())
	}
	token := h.identityOf(r, "user:default/alice", "user:default/alice", "group:default/platform", "group:default/team-a")

	// 2. The catalog verifies Gatehouse's user token through discovery
	// (auth → Gatehouse's JWKS), and refuses a tampered one.
	if code, body := catalogGET(t, b, token); code != 200 || !strings.Contains(body, `"name":"alice"`) {
		t.Fatalf("GET /api/catalog/entities with a Gatehouse user token: %d %s", code, body)
	}
	parts := strings.Split(token, ".")
	claims := strings.Replace(parts[1], parts[1][4:8], "AAAA", 1)
	for name, bad := range map[string]string{
		"payload":   parts[0] + "." + claims + "." + parts[2],
		"signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
	} {
		if code, body := catalogGET(t, b, bad); code != 401 {
			t.Errorf("a user token with a tampered %s: %d %s, want 401", name, code, body)
		}
	}

	// 3a. Plugin tokens: the catalog trusts Gatehouse's key set, and only
	// it: a token from keys Gatehouse does not serve is refused, as is one
	// addressed to another plugin.
	if _, err := h.gw.Catalog().FindUser(context.Background(), catalog.Query{EntityRef: "group:platform"}); err != nil {
		t.Fatalf("FindUser with plugin tokens: %v", err)
	}
	own, err := h.gw.PluginKeys().ServiceToken(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := catalogGET(t, b, own); code != 200 {
		t.Errorf("Gatehouse's plugin token: %d %s, want 200", code, body)
	}
	elsewhere, err := h.gw.PluginKeys().ServiceToken(context.Background(), "scaffolder")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := identity.NewPluginKeys(identity.PluginKeysOptions{}).ServiceToken(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"addressed to scaffolder": elsewhere, "signed with an unpublished key": foreign} {
		if code, body := catalogGET(t, b, tok); code != 401 {
			t.Errorf("a plugin token %s: %d %s, want 401", name, code, body)
		}
	}

	// 3b. A static token from backend.auth.externalAccess, read from the
	// same config keys Backstage reads.
	openStatic := func(token string) catalog.Catalog {
		cfg, err := config.LoadBytes("static.yaml", []byte(fmt.Sprintf(`
app: {baseUrl: http://localhost:3000}
backend:
  baseUrl: http://127.0.0.1:1
  auth:
    externalAccess:
      - {type: static, options: {token: %q, subject: gatehouse}}
discovery:
  endpoints:
    - {target: {internal: %q, external: http://backstage.example.com/api/catalog}, plugins: [catalog]}
gatehouse:
  catalog: {source: backstage, credentials: static, cacheTtl: 0}
`, token, b.CatalogURL)), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		gw, err := gateway.Build(cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return gw.Catalog()
	}
	e, err := openStatic(b.StaticToken).FindUser(context.Background(), catalog.Query{Filter: []map[string]string{{"spec.profile.email": "ALICE@example.com"}}})
	if err != nil {
		t.Fatalf("FindUser with the static token: %v", err)
	}
	if got, want := catalog.OwnershipEntityRefs(e), []string{"user:default/alice", "group:default/platform", "group:default/team-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ownership from the static-token lookup = %q, want %q", got, want)
	}
	_, err = openStatic("gatehouse-wrong-static-token-0123456789").FindUser(context.Background(), catalog.Query{EntityRef: "alice"})
	if !autherr.Is(err, autherr.NameServiceUnavailable) || !strings.Contains(err.Error(), b.CatalogURL) {
		t.Errorf("a refused static token gave %v, want ServiceUnavailable naming %s", err, b.CatalogURL)
	}

	// A Conflict in the real catalog stops the sign-in; it is not a
	// NotFound that a later resolver would paper over.
	_, err = h.gw.Catalog().FindUser(context.Background(), catalog.Query{Filter: []map[string]string{{"spec.profile.email": "dup@example.com"}}})
	if !autherr.Is(err, autherr.NameConflict) {
		t.Errorf("duplicate email: %v, want Conflict", err)
	}
}

// TestBackstageCatalogDownFailsSignIn: with the catalog unreachable, the
// sign-in fails with ServiceUnavailable naming the catalog URL; it never
// falls through to the next resolver as NotFound would.
func TestBackstageCatalogDownFailsSignIn(t *testing.T) {
	port := backstagetest.FreePort(t) // nothing listens there
	h := newHarness(t, harnessOptions{extraYAML: func(string) string {
		return fmt.Sprintf(`
discovery:
  endpoints:
    - {target: "http://127.0.0.1:%d/api/{{ pluginId }}", plugins: [catalog]}
gatehouse:
  catalog: {source: backstage, timeout: 2s}
`, port)
	}})
	start := time.Now()
	br := newBrowser(t)
	resp, body := br.login(h, startQuery("development"), "alice", "alice-test-password", "login")
	name, message := popupError(t, resp, body)
	want := fmt.Sprintf("http://127.0.0.1:%d/api/catalog", port)
	if name != autherr.NameServiceUnavailable || !strings.Contains(message, want) {
		t.Errorf("sign-in with the catalog down: %s %q, want ServiceUnavailableError naming %s", name, message, want)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the failed sign-in took %s", d)
	}
}
