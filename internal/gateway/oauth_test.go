package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers/catalog"
)

// oauthYAML is the auth block of one spec §1.2 combination, with the
// session secret the refresh grace records are sealed under.
func oauthYAML(dcr, cimdOn, refresh bool) string {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	return "auth:\n  session: {secret: gateway-test-session-secret}\n  experimentalDynamicClientRegistration: {enabled: " + b(dcr) + "}\n" +
		"  clientIdMetadataDocuments: {enabled: " + b(cimdOn) + "}\n" +
		"  experimentalRefreshToken: {enabled: " + b(refresh) + "}\n"
}

// do sends method path (with an empty JSON body for POST) to h.
func do(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	r := httptest.NewRequest(method, path, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

const unknownV1 = `{"error":{"name":"NotFoundError","message":"Unknown auth provider 'v1'"}`

// TestOAuthRoutesPerConfig: gw.Handler mounts the routes spec §1.2 says
// for each combination — with the demo page's extra handler too, which
// must not hide the RFC 8414 document at the root; an unmounted route is
// Backstage's 404 envelope.
func TestOAuthRoutesPerConfig(t *testing.T) {
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "extra") })
	routes := []struct {
		method, path string
		on           func(dcr, cimd bool) bool
	}{
		{"GET", "/api/auth/v1/authorize", func(d, c bool) bool { return d || c }},
		{"GET", "/api/auth/v1/sessions/x", func(d, c bool) bool { return d || c }},
		{"POST", "/api/auth/v1/sessions/x/approve", func(d, c bool) bool { return d || c }},
		{"POST", "/api/auth/v1/sessions/x/reject", func(d, c bool) bool { return d || c }},
		{"POST", "/api/auth/v1/token", func(d, c bool) bool { return d || c }},
		{"POST", "/api/auth/v1/revoke", func(d, c bool) bool { return d || c }},
		{"POST", "/api/auth/v1/register", func(d, c bool) bool { return d }},
	}
	for _, dcr := range []bool{false, true} {
		for _, cimdOn := range []bool{false, true} {
			for _, refresh := range []bool{false, true} {
				gw := build(t, load(t, base+oauthYAML(dcr, cimdOn, refresh)), Options{})
				h := gw.Handler(extra)
				for _, r := range routes {
					code, body := do(t, h, r.method, r.path)
					off := code == http.StatusNotFound && strings.HasPrefix(body, unknownV1)
					if off == r.on(dcr, cimdOn) {
						t.Errorf("dcr %v cimd %v refresh %v: %s %s = %d %s; want mounted %v", dcr, cimdOn, refresh, r.method, r.path, code, body, r.on(dcr, cimdOn))
					}
				}
				for _, p := range []string{"/api/auth/.well-known/openid-configuration", "/api/auth/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/api/auth"} {
					if code, body := do(t, h, "GET", p); code != 200 || !strings.HasPrefix(body, `{"issuer":"http://localhost:7007/api/auth",`) {
						t.Errorf("dcr %v cimd %v: GET %s = %d %s", dcr, cimdOn, p, code, body)
					}
				}
				code, body := do(t, h, "GET", "/api/auth/.well-known/oauth-client/cli.json")
				if wantCode := map[bool]int{true: 200, false: 404}[cimdOn]; code != wantCode {
					t.Errorf("cimd %v: cli.json %d %s", cimdOn, code, body)
				}
				if _, body := do(t, h, "GET", "/api/auth/.well-known/openid-configuration"); strings.Contains(body, `"refresh_token"`) != refresh {
					t.Errorf("refresh %v: discovery %s", refresh, body)
				}
			}
		}
	}
}

// TestOAuthStartupWarnings: DCR logs Backstage's deprecation warning; a
// SQLite database with refresh tokens logs no locking warning (rotation is
// a conditional update, see newOAuthServer).
func TestOAuthStartupWarnings(t *testing.T) {
	ctx := context.Background()
	cfg := load(t, sqliteConfig(t, "")+oauthYAML(true, true, true))
	db, err := OpenDatabase(ctx, cfg, quiet(), true)
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogWatch()
	gw, err := Build(cfg, Options{Logger: logs.logger(), DB: db})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	defer gw.Close(ctx)
	log := logs.String()
	if !strings.Contains(log, dcrDeprecation) {
		t.Errorf("no DCR deprecation warning:\n%s", log)
	}
	if strings.Contains(log, "SQLite") {
		t.Errorf("a SQLite warning:\n%s", log)
	}
}

// TestOAuthSweeper: the sweeper deletes an expired consent session from
// the database every interval, and stops with its context.
func TestOAuthSweeper(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := load(t, sqliteConfig(t, "")+oauthYAML(false, true, true))
	db, err := OpenDatabase(ctx, cfg, quiet(), true)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := Build(cfg, Options{Logger: quiet(), DB: db, OAuthSweepInterval: 10 * time.Millisecond})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	defer gw.Close(context.Background())
	past := time.Now().Add(-time.Minute)
	for _, id := range []string{"expired", "live"} {
		exp := past
		if id == "live" {
			exp = time.Now().Add(time.Hour)
		}
		if err := db.CreateAuthSession(ctx, identity.AuthSession{ID: id, ClientID: "c", RedirectURI: "http://127.0.0.1/cb", Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { gw.sweepOAuth(ctx, gw.oauthSweep, quiet()); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := db.GetAuthSession(ctx, "expired"); autherr.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired session was not swept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := db.GetAuthSession(ctx, "live"); err != nil {
		t.Errorf("the live session: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweeper did not stop with its context")
	}
}

// fakeCatalog answers FindUser with err, or a user.
type fakeCatalog struct{ err error }

func (f fakeCatalog) FindUser(context.Context, catalog.Query) (*catalog.Entity, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &catalog.Entity{Kind: "User", Metadata: catalog.Metadata{Name: "alice"}}, nil
}

// TestCatalogUsers: the presence check is true for a user, false for
// "User not found", and an error for anything else.
func TestCatalogUsers(t *testing.T) {
	ctx := context.Background()
	if ok, err := (catalogUsers{fakeCatalog{}}).UserExists(ctx, "user:default/alice"); !ok || err != nil {
		t.Errorf("present: %v %v", ok, err)
	}
	if ok, err := (catalogUsers{fakeCatalog{autherr.NotFound("User not found")}}).UserExists(ctx, "user:default/bob"); ok || err != nil {
		t.Errorf("absent: %v %v", ok, err)
	}
	if ok, err := (catalogUsers{fakeCatalog{autherr.ServiceUnavailable("catalog down")}}).UserExists(ctx, "user:default/bob"); ok || err == nil {
		t.Errorf("catalog down: %v %v", ok, err)
	}
}
