package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/examples/dev"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/internal/testlog"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestCrossOriginBrowserSignIn serves the demo app on one port and
// Gatehouse on another (two origins of one site, as a Backstage app on
// :3000 and its backend on :7007), and drives headless Chromium through
// the popup sign-in, a reload with the session restored by /refresh (a
// credentialed CORS request with a preflight), and a sign-out.
func TestCrossOriginBrowserSignIn(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, testenv.Chromium, "no Chromium at "+chromiumPath+" (apt-get install chromium; .ci/run does)")
	}
	authLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	authBase := fmt.Sprintf("http://localhost:%d", authLn.Addr().(*net.TCPAddr).Port)
	appBase := fmt.Sprintf("http://localhost:%d", appLn.Addr().(*net.TCPAddr).Port)

	idp := startVCFIdP(t, authBase+"/api/auth/vcfsso/handler/frame")
	catPath := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catPath, []byte(testCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
app: {baseUrl: %[1]s}
backend:
  baseUrl: %[2]s
  cors:
    origin: %[1]s
    methods: [GET, HEAD, PATCH, POST, PUT, DELETE]
    credentials: true
auth:
  session: {secret: %[3]s}
  providers:
    vcfsso:
      development:
        metadataUrl: %[4]s/
        clientId: %[5]s
        clientSecret: %[6]s
        prompt: auto
        additionalScopes: [offline_access]
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
catalog:
  locations:
    - {type: file, target: %[7]s}
`, appBase, authBase, testSessionKey, idp.Issuer(), testClientID, testClientSecret, catPath)
	cfg, err := config.LoadBytes("browser-app-config.yaml", []byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	gw, err := gateway.Build(cfg, gateway.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	authSrv := &http.Server{Handler: gw.Handler(nil)}
	gateway.ApplyLimits(authSrv, cfg.Backend.Limits)
	go func() { _ = authSrv.Serve(authLn) }()
	t.Cleanup(func() { authSrv.Close() })

	// The app origin serves the demo page, told where the auth server is.
	demoPage, err := dev.Files.ReadFile("demo.html")
	if err != nil {
		t.Fatal(err)
	}
	page := bytes.Replace(demoPage, []byte("<head>"), []byte(`<head><meta name="gatehouse-auth-base" content="`+authBase+`/api/auth">`), 1)
	appSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = appSrv.Serve(appLn) }()
	t.Cleanup(func() { appSrv.Close() })

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	who := func(want string) {
		t.Helper()
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById('who').textContent.startsWith(%q)`, want), chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("who")))
			t.Fatalf("waiting for %q: %v (page shows %q)\nserver log:\n%s", want, err, text, logs.String())
		}
	}

	if err := chromedp.Do(bctx, chromedp.Navigate(appBase+"/"), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
		t.Fatal(err)
	}
	// Sign in through the popup.
	popupID := chromedp.WaitNewTarget(bctx, func(i *target.Info) bool { return i.Type == "page" })
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("signin"))); err != nil {
		t.Fatal(err)
	}
	var id target.ID
	select {
	case id = <-popupID:
	case <-time.After(30 * time.Second):
		t.Fatal("no popup opened")
	}
	pctx, cancelPopup := chromedp.NewContext(bctx, chromedp.WithTargetID(id))
	defer cancelPopup()
	if err := chromedp.Do(pctx,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-test-password"),
		chromedp.Click(chromedp.CSS(`button[value="login"]`)),
	); err != nil {
		t.Fatalf("popup login form: %v", err)
	}
	who("Signed in as user:default/alice")

	// Reload: the page loses the session and gets it back through
	// /refresh from the auth origin's cookie, as Backstage's app does on
	// load (the Refresh button does it when the page did not).
	if err := chromedp.Do(bctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("refresh"))); err != nil {
		t.Fatal(err)
	}
	settled := `(function(t){return t.startsWith('Signed in as') || t.startsWith('Not signed in.')})(document.getElementById('who').textContent)`
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](settled, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatal(err)
	}
	if text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("who"))); strings.HasPrefix(text, "Not signed in.") {
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("refresh"))); err != nil {
			t.Fatal(err)
		}
	}
	who("Signed in as user:default/alice")

	// Sign out; a refresh then fails for want of the cookie.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("logout"))); err != nil {
		t.Fatal(err)
	}
	who("Logged out.")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("refresh"))); err != nil {
		t.Fatal(err)
	}
	who("AuthenticationError")
	if l := logs.String(); strings.Contains(l, testClientSecret) || strings.Contains(l, "eyJ") {
		t.Errorf("a secret or token was logged:\n%s", l)
	}
}
