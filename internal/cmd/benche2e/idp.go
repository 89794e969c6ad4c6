package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

// runIdP is `benche2e idp`: the dev IdP as a process of its own, with one
// VCF SSO-style client (confidential, refresh tokens not rotated, as VCF
// SSO does) and the users of a users file. It serves until ctx ends.
func runIdP(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("benche2e idp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "loopback listen address, host:port")
	usersFile := fs.String("users", "", "users file (examples/dev/users.yaml)")
	clientID := fs.String("client-id", "", "the client's id")
	clientSecret := fs.String("client-secret", "", "the client's secret")
	callback := fs.String("callback", "", "the client's redirect URI (Gatehouse's /api/auth/vcfsso/handler/frame)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *addr == "" || *usersFile == "" || *clientID == "" || *clientSecret == "" || *callback == "" {
		fmt.Fprintln(stderr, "benche2e idp: --addr, --users, --client-id, --client-secret and --callback are required")
		return 2
	}
	users, err := devidp.LoadUsers(*usersFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	idp, err := devidp.Start(ctx, devidp.Config{
		Addr:    *addr,
		Users:   users,
		Clients: []devidp.Client{{ID: *clientID, Secret: *clientSecret, RedirectURIs: []string{*callback}}},
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	<-ctx.Done()
	if err := idp.Close(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
