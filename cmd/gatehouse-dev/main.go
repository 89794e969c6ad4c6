// Command gatehouse-dev is the demo (`make run`): a dev OpenID provider
// (internal/devidp, in the style of VCF SSO and of the VMware Cloud
// Services console) and Gatehouse on examples/dev/app-config.yaml, with a
// page at app.baseUrl that plays the Backstage app.
//
//	gatehouse-dev [--idp-addr localhost:5556] [--log-format text|json]
//
// It is a binary of its own so that the production one, cmd/gatehouse,
// links no OpenID provider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/examples/dev"
	"github.com/gatehouse-auth/gatehouse/internal/devidp"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/providers/vcfsso"
	"github.com/gatehouse-auth/gatehouse/providers/vmwarecloud"
)

// The demo's files, relative to the working directory, as
// examples/dev/app-config.yaml names its catalog.
const (
	devDir    = "examples/dev"
	devConfig = devDir + "/app-config.yaml"
	devUsers  = devDir + "/users.yaml"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("gatehouse-dev", flag.ContinueOnError)
	flags.SetOutput(stderr)
	idpAddr := flags.String("idp-addr", "localhost:5556", "loopback address of the dev IdP (localhost: Backstage's frontend follows an http logoutUrl only on localhost)")
	logFormat := flags.String("log-format", "text", "log format: text or json")
	if flags.Parse(args) != nil {
		return 2
	}
	var logger *slog.Logger
	if *logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if err := useDemoFiles(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg, err := config.Load([]string{devConfig})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	users, err := devidp.LoadUsers(devUsers)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	vcf, ok1 := cfg.Auth.Providers[vcfsso.ID]["development"].Settings.(vcfsso.Config)
	console, ok2 := cfg.Auth.Providers[vmwarecloud.ID]["development"].Settings.(vmwarecloud.Config)
	if !ok1 || !ok2 {
		fmt.Fprintf(stderr, "%s must configure auth.providers.%s.development and auth.providers.%s.development\n", devConfig, vcfsso.ID, vmwarecloud.ID)
		return 1
	}
	idp, err := startIdP(ctx, gateway.AuthBaseURL(cfg), *idpAddr, vcf, console, users, logger)
	if err != nil {
		fmt.Fprintf(stderr, "dev IdP: %v\n", err)
		return 1
	}
	defer idp.Close()
	gw, err := gateway.Build(cfg, gateway.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	printBanner(stdout, cfg.App.BaseURL, console.OrganizationID, idp, users)
	page, _ := dev.Files.ReadFile("demo.html")
	if gw.Serve(ctx, demoHandler(page), logger) != nil {
		return 1
	}
	return 0
}

// useDemoFiles makes examples/dev/ readable from the working directory:
// in a checkout it is there; elsewhere the embedded copies are written to a
// temporary directory, which becomes the working directory.
func useDemoFiles() error {
	if _, err := os.Stat(devConfig); err == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "gatehouse-dev-")
	if err != nil {
		return err
	}
	err = fs.WalkDir(dev.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dev.Files.ReadFile(name)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, devDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	})
	return errors.Join(err, os.Chdir(dir))
}

// startIdP starts the dev IdP with the demo config's two clients: VCF SSO
// style (vcfsso) and VMware Cloud Services console style.
func startIdP(ctx context.Context, auth, addr string, vcf vcfsso.Config, console vmwarecloud.Config, users []devidp.User, logger *slog.Logger) (*devidp.IdP, error) {
	return devidp.Start(ctx, devidp.Config{
		Addr:  addr,
		Users: users,
		Clients: []devidp.Client{
			// Signing out at the dev IdP's end_session tells Gatehouse by
			// back-channel logout, which ends the session on every replica.
			{ID: vcf.ClientID, Secret: vcf.ClientSecret, RedirectURIs: []string{providers.CallbackURL(auth, vcfsso.ID)},
				BackchannelLogoutURI: auth + "/" + vcfsso.ID + "/backchannel-logout?env=development"},
			// A public client on the console side: the secret is never used.
			{ID: console.ClientID, Secret: "unused-public-client", RedirectURIs: []string{providers.CallbackURL(auth, vmwarecloud.ID)}},
		},
		ConsoleOrgID: console.OrganizationID,
		Logger:       logger,
	})
}

// printBanner tells the user where to go and how to sign in.
func printBanner(w io.Writer, appURL, org string, idp *devidp.IdP, users []devidp.User) {
	fmt.Fprintf(w, "\nGatehouse demo\n  open      %s\n  dev IdP   %s (VCF SSO style)\n            %s (VMware Cloud Services console style, org %s)\n  users     ", appURL, idp.Issuer(), idp.ConsoleURL(), org)
	for i, u := range users {
		if i > 0 {
			fmt.Fprint(w, "            ")
		}
		fmt.Fprintf(w, "%s / %s\n", u.Username, u.Password)
	}
	fmt.Fprintln(w)
}

// consentPath is where Backstage's app mounts its consent page
// (@backstage/plugin-auth, spec §2.13): /v1/authorize sends the browser to
// <app.baseUrl>/oauth2/authorize/<session id>.
const consentPath = "/oauth2/authorize/"

// demoHandler serves the page that plays the Backstage app at "/" and, as
// its consent page, at /oauth2/authorize/<id>.
func demoHandler(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, consent := strings.CutPrefix(r.URL.Path, consentPath)
		if r.URL.Path != "/" && (!consent || id == "" || strings.Contains(id, "/")) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
}
