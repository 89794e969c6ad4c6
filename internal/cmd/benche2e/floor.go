package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// floorName is the table row of the floor server.
const floorName = "floor: the same JWKS bytes from a bare net/http server"

// runFloor is `benche2e floor`: a bare net/http server that answers every
// request with the bytes of a file as application/json, and nothing else
// (no middleware, headers, metrics or logs). Driven like the JWKS it is the
// floor of this machine and this load generator: what any Go HTTP server
// costs per request here, below which Gatehouse's JWKS cannot go.
func runFloor(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("benche2e floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "loopback listen address, host:port")
	bodyFile := fs.String("body", "", "file whose bytes every answer carries")
	if fs.Parse(args) != nil {
		return 2
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil || *addr == "" {
		fmt.Fprintf(stderr, "benche2e floor: --addr and a readable --body are required (%v)\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
