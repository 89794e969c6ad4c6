package main

import (
	"context"
	"embed"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

// devFiles are the demo's config, catalog and IdP users, embedded so that
// `gatehouse dev` works from any directory.
//
//go:embed examples/dev/app-config.yaml examples/dev/catalog.yaml examples/dev/users.yaml
var devFiles embed.FS

//go:embed demo.html
var demoPage []byte

const (
	devConfig = "examples/dev/app-config.yaml"
	devUsers  = "examples/dev/users.yaml"
)

// runDev starts the dev IdP and Gatehouse on the demo config and serves
// the demo page at app.baseUrl.
func runDev(ctx context.Context, idpAddr string, stdout, stderr io.Writer, logger *slog.Logger) int {
	if _, err := os.Stat(devConfig); err != nil {
		// Not in a checkout: run from the embedded copies.
		dir, err := os.MkdirTemp("", "gatehouse-dev-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		for _, f := range []string{devConfig, "examples/dev/catalog.yaml", devUsers} {
			b, _ := devFiles.ReadFile(f)
			p := filepath.Join(dir, f)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	cfg, err := config.Load([]string{devConfig})
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	users, err := devidp.LoadUsers(devUsers)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	pe := cfg.Auth.Providers["vcfsso"]["development"]
	csp := cfg.Auth.Providers["vmwareCloudServices"]["development"].VMwareCloud
	idp, err := devidp.Start(ctx, devidp.Config{
		Addr:  idpAddr,
		Users: users,
		Clients: []devidp.Client{
			{ID: pe.OIDC.ClientID, Secret: pe.OIDC.ClientSecret, RedirectURIs: []string{authBaseURL(cfg) + "/vcfsso/handler/frame"}},
			// A public client on the CSP side: the secret is never used.
			{ID: csp.ClientID, Secret: "unused-public-client", RedirectURIs: []string{authBaseURL(cfg) + "/vmwareCloudServices/handler/frame"}},
		},
		ConsoleOrgID: csp.OrganizationID,
		Logger:       logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "dev IdP: %v\n", err)
		return 1
	}
	defer idp.Close()
	gw, err := build(cfg, buildOptions{logger: logger})
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "\nGatehouse demo\n  open      %s\n  dev IdP   %s (VCF SSO style)\n            %s (VMware Cloud Services console style, org %s)\n  users     ", cfg.App.BaseURL, idp.Issuer(), idp.ConsoleURL(), csp.OrganizationID)
	for i, u := range users {
		if i > 0 {
			fmt.Fprint(stdout, "            ")
		}
		fmt.Fprintf(stdout, "%s / %s\n", u.Username, u.Password)
	}
	fmt.Fprintln(stdout)
	return serve(ctx, gw, demoHandler(cfg), stdout, logger)
}

// demoHandler serves the page that plays the Backstage app.
func demoHandler(cfg *config.Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(demoPage)
	})
}
