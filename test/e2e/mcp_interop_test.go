package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/internal/backstagetest"
)

// This file runs real clients against Gatehouse's OAuth authorization
// server (issue 14): the official MCP TypeScript SDK (a DCR client and a
// CIMD client, each calling a real MCP server with its token) and the
// Backstage CLI's auth module. The clients are Node scripts under
// test/interop (mcp-oauth.mjs, backstage-cli.mjs) on npm packages pinned
// by its package-lock.json; `make interop` installs them and runs these
// tests with GATEHOUSE_REQUIRE=node.

// npm packages these tests run.
const (
	mcpSDKPackage  = "@modelcontextprotocol/sdk"
	cliAuthPackage = "@backstage/cli-module-auth"
)

// interopScriptTimeout bounds one Node script (its clients, server and
// the CLI processes it starts).
const interopScriptTimeout = 3 * time.Minute

// cliCallbackAddr is where the Backstage CLI listens for its redirect
// (fixed by the CLI, spec §2.14).
const cliCallbackAddr = "127.0.0.1:8055"

// mcpCIMDClientPattern allowlists the CIMD client mcp-oauth.mjs serves on
// an ephemeral loopback port.
const mcpCIMDClientPattern = "https://127.0.0.1:*/mcp-interop/client.json"

// interopAuthYAML turns the authorization server on: CIMD (with
// clientIDPattern allowlisted, when given), DCR when dcr, refresh tokens.
func interopAuthYAML(clientIDPattern string, dcr bool) string {
	patterns := ""
	if clientIDPattern != "" {
		patterns = fmt.Sprintf(", allowedClientIdPatterns: [%q]", clientIDPattern)
	}
	return fmt.Sprintf(`  clientIdMetadataDocuments: {enabled: true%s}
  experimentalDynamicClientRegistration: {enabled: %t}
  experimentalRefreshToken: {enabled: true}
`, patterns, dcr)
}

// npmPackageVersion is the installed version of an npm package under dir.
func npmPackageVersion(t *testing.T, dir, pkg string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Version string }
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("%s's package.json: %v", pkg, err)
	}
	return p.Version
}

// runInteropScript runs `node <script>` in dir with env added, every
// fetch traced (test/interop/lib/preload.cjs), and fails t with its
// output unless it exits 0. It logs each step the script reports and the
// requests the client made (no secrets: the trace holds none).
func runInteropScript(t *testing.T, dir, script string, env ...string) {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "fetch-trace.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), interopScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{
		"NODE_OPTIONS=--require " + filepath.Join(dir, "lib", "preload.cjs"),
		"GATEHOUSE_FETCH_TRACE=" + trace,
	}, env...)...)
	out, err := cmd.CombinedOutput()
	logFetchTrace(t, script, trace)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t.Logf("%s: %s", script, line)
	}
	if err != nil {
		t.Fatalf("node %s: %v (output above)", script, err)
	}
}

// logFetchTrace logs a fetch trace (lib/preload.cjs) one request a line.
func logFetchTrace(t *testing.T, who, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		return // nothing was fetched
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Method, URL, ContentType, Auth, Location, Error string
			Fields                                          []string
			Status                                          int
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			t.Logf("%s fetch: %s", who, sc.Text())
			continue
		}
		line := r.Method + " " + r.URL
		if r.Auth != "" {
			line += " [" + r.Auth + "]"
		}
		if r.Fields != nil {
			line += fmt.Sprintf(" %s {%s}", r.ContentType, strings.Join(r.Fields, ","))
		}
		line += fmt.Sprintf(" → %d", r.Status)
		if r.Location != "" {
			line += " " + r.Location
		}
		if r.Error != "" {
			line += " error: " + r.Error
		}
		t.Logf("%s fetch: %s", who, line)
	}
}

// TestMCPClientDCR: an MCP client of the official SDK discovers Gatehouse
// through an MCP server's protected-resource metadata, registers (DCR,
// confidential: client_secret_basic), authorizes with S256 PKCE, state and
// resource, gets the user's consent as the Backstage frontend asks for
// it, exchanges the code, calls the MCP server, refreshes, revokes by
// plain RFC 7009, and then fails to refresh; a second authorization is
// cancelled at consent (error=access_denied, state, iss).
func TestMCPClientDCR(t *testing.T) {
	testMCPClient(t, "dcr")
}

// TestMCPClientCIMD is TestMCPClientDCR for a CIMD client: its client_id
// is the https URL of its metadata document, served on loopback with a
// certificate Gatehouse's fetcher trusts; no registration, no secret.
func TestMCPClientCIMD(t *testing.T) {
	testMCPClient(t, "cimd")
}

func testMCPClient(t *testing.T, mode string) {
	dir := backstagetest.RequirePackages(t, mcpSDKPackage)
	t.Logf("%s %s", mcpSDKPackage, npmPackageVersion(t, dir, mcpSDKPackage))
	o := harnessOptions{authYAML: interopAuthYAML("", true)}
	var env []string
	if mode == "cimd" {
		certFile, keyFile, pool := writeTestCertificate(t)
		o.authYAML = interopAuthYAML(mcpCIMDClientPattern, false)
		o.cimdFetcher = cimd.NewFetcher(cimd.FetcherOptions{TLSConfig: &tls.Config{RootCAs: pool}, AllowLoopbackForTesting: true})
		env = append(env, "MCP_CIMD_CERT="+certFile, "MCP_CIMD_KEY="+keyFile)
	}
	h := newHarness(t, o)
	runInteropScript(t, dir, "mcp-oauth.mjs", append(env,
		"MCP_CLIENT="+mode,
		"GATEHOUSE_AUTH_URL="+h.base+"/api/auth",
		"GATEHOUSE_USER_TOKEN="+signInUser(t, h, "alice"),
		"GATEHOUSE_WANT_SUB=user:default/alice",
	)...)
}

// TestBackstageCLIInterop: the published Backstage CLI auth module logs in
// (cli.json, authorize, consent, JSON token exchange), refreshes with
// {grant_type, refresh_token} only, and logs out (revocation must answer
// 200 and end the refresh session); then spec §2.14's sequence without
// any client_id is replayed. Both listen on the CLI's fixed port 8055.
func TestBackstageCLIInterop(t *testing.T) {
	dir := backstagetest.RequirePackages(t, cliAuthPackage)
	t.Logf("%s %s", cliAuthPackage, npmPackageVersion(t, dir, cliAuthPackage))
	if ln, err := net.Listen("tcp", cliCallbackAddr); err != nil {
		t.Fatalf("the Backstage CLI listens on %s, which is taken: %v", cliCallbackAddr, err)
	} else {
		ln.Close()
	}
	h := newHarness(t, harnessOptions{authYAML: interopAuthYAML("", false)})
	home := t.TempDir()
	defer logFetchTrace(t, "backstage-cli", filepath.Join(home, "cli-fetch-trace.jsonl"))
	runInteropScript(t, dir, "backstage-cli.mjs",
		"CLI_HOME="+home,
		"GATEHOUSE_BACKEND_URL="+h.base,
		"GATEHOUSE_USER_TOKEN="+signInUser(t, h, "alice"),
		"GATEHOUSE_WANT_SUB=user:default/alice",
	)
}
