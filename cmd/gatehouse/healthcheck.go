package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// defaultProbeURL is the readiness probe on the default metrics address.
const defaultProbeURL = "http://127.0.0.1:9464/readyz"

// runHealthcheck is `gatehouse healthcheck [URL]`: a probe for images
// without curl (Docker's HEALTHCHECK). It exits 0 when URL answers 200.
func runHealthcheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	u := defaultProbeURL
	if len(args) > 1 {
		fmt.Fprintln(stderr, "gatehouse healthcheck: at most one URL")
		return 2
	}
	if len(args) == 1 {
		u = args[0]
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%s %d %s\n", u, resp.StatusCode, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
