// Command benche2e is `make bench-e2e`: Gatehouse measured as operators
// see it. It runs three processes: the production binary (bin/gatehouse
// serve, SQLite, the vcfsso provider), the dev IdP (this binary again, as
// `benche2e idp`) and itself as the load generator. It signs in once, then
// drives /refresh, the JWKS and /v1/userinfo at several concurrencies and
// prints a markdown table: requests/s, p50 and p99, Gatehouse's and the
// IdP's CPU per request (from /proc), the generator's CPU and Gatehouse's
// RSS, then the issue-style summary with the peak RSS.
//
//	benche2e [-duration 10s] [-quick] [-concurrency 1,4,16] [-cpuprofile FILE]
//
// Run it from the repository root after `make build`. BENCH_DURATION (a Go
// duration such as 2s) sets the duration per cell when -duration is not
// given.
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
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/devidp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	switch {
	case len(os.Args) > 1 && os.Args[1] == "idp":
		code = runIdP(ctx, os.Args[2:], os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == "floor":
		code = runFloor(ctx, os.Args[2:], os.Stderr)
	default:
		code = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// The dev IdP's client, as examples/dev/app-config.yaml registers it.
const (
	clientID     = "gatehouse-dev"
	clientSecret = "gatehouse-dev-client-secret"
	sessionKey   = "bench-e2e-session-secret-not-for-production"
	// refConc is the concurrency of the summary (the issue's `hey -c 4`).
	refConc = 4
)

// options are the parsed flags.
type options struct {
	gatehouse   string
	examples    string
	user        string
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	cpuprofile  string
}

func parseFlags(args []string, stderr io.Writer) (options, bool) {
	var o options
	fs := flag.NewFlagSet("benche2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "the gatehouse binary to run (make build writes bin/gatehouse)")
	fs.StringVar(&o.examples, "examples", "examples/dev", "directory with users.yaml (the dev IdP's users) and catalog.yaml")
	fs.StringVar(&o.user, "user", "alice", "the user who signs in (from users.yaml)")
	dur := fs.Duration("duration", 10*time.Second, "measured time per endpoint × concurrency cell (default 10s, or $BENCH_DURATION)")
	quick := fs.Bool("quick", false, "short run: 2s per cell, 0.5s warm-up (unless -duration or $BENCH_DURATION says otherwise)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each endpoint's cells")
	conc := fs.String("concurrency", "1,4,16", "comma-separated concurrencies (connections) per endpoint")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the gatehouse process during the /refresh c=4 cell to this file and print its top ten")
	if fs.Parse(args) != nil {
		return o, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benche2e: unexpected argument %q\n", fs.Arg(0))
		return o, false
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	o.duration = *dur
	switch env := os.Getenv("BENCH_DURATION"); {
	case given["duration"]:
	case env != "":
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "benche2e: BENCH_DURATION=%q is not a positive Go duration such as 2s\n", env)
			return o, false
		}
		o.duration = d
	case *quick:
		o.duration = 2 * time.Second
	}
	if *quick && !given["warmup"] {
		o.warmup = 500 * time.Millisecond
	}
	var err error
	if o.concurrency, err = parseConcurrency(*conc); err != nil {
		fmt.Fprintf(stderr, "benche2e: -concurrency: %v\n", err)
		return o, false
	}
	if o.duration <= 0 || o.warmup < 0 {
		fmt.Fprintln(stderr, "benche2e: -duration must be positive and -warmup not negative")
		return o, false
	}
	return o, true
}

// parseConcurrency reads "1,4,16".
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("%q is not a number from 1 to 1024", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, ok := parseFlags(args, stderr)
	if !ok {
		return 2
	}
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "benche2e: %v\n", err)
		return 1
	}
	return 0
}

// bench starts the IdP and Gatehouse, signs in, runs every cell and
// prints the tables. Both children are stopped and the temporary directory
// removed on every return path; an interrupt (ctx) ends the run early.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	if _, err := os.Stat(o.gatehouse); err != nil {
		return fmt.Errorf("%s: %w (run make build, from the repository root)", o.gatehouse, err)
	}
	usersFile, catalogFile := filepath.Join(o.examples, "users.yaml"), filepath.Join(o.examples, "catalog.yaml")
	users, err := devidp.LoadUsers(usersFile)
	if err != nil {
		return fmt.Errorf("%w (run from the repository root, or set -examples)", err)
	}
	password := ""
	for _, u := range users {
		if u.Username == o.user {
			password = u.Password
		}
	}
	if password == "" {
		return fmt.Errorf("%s has no user %q", usersFile, o.user)
	}
	if catalogFile, err = filepath.Abs(catalogFile); err != nil {
		return err
	}
	if _, err := os.Stat(catalogFile); err != nil {
		return fmt.Errorf("the catalog: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this binary to start the dev IdP: %w", err)
	}

	dir, err := os.MkdirTemp("", "gatehouse-bench-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ports, err := freePorts(5)
	if err != nil {
		return fmt.Errorf("no free loopback port: %w", err)
	}
	ghPort, metricsPort, idpPort, debugPort, floorPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	base := fmt.Sprintf("http://127.0.0.1:%d", ghPort)
	issuer := fmt.Sprintf("http://127.0.0.1:%d/acs/t/CUSTOMER", idpPort)

	idp, err := startChild("the dev IdP", filepath.Join(dir, "idp.log"), self, "idp",
		"--addr", fmt.Sprintf("127.0.0.1:%d", idpPort), "--users", usersFile,
		"--client-id", clientID, "--client-secret", clientSecret, "--callback", base+"/api/auth/vcfsso/handler/frame")
	if err != nil {
		return err
	}
	defer idp.stop(5 * time.Second)
	if err := waitUntil(ctx, idp, 20*time.Second, getOK(issuer+"/.well-known/openid-configuration")); err != nil {
		return err
	}

	cfgPath := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(appConfig(base, ghPort, metricsPort, issuer, filepath.Join(dir, "gatehouse.sqlite"), catalogFile)), 0o600); err != nil {
		return err
	}
	ghArgs := []string{"serve", "--config", cfgPath}
	if o.cpuprofile != "" {
		ghArgs = append(ghArgs, "--debug-addr", fmt.Sprintf("127.0.0.1:%d", debugPort))
	}
	gh, err := startChild("gatehouse", filepath.Join(dir, "gatehouse.log"), o.gatehouse, ghArgs...)
	if err != nil {
		return err
	}
	// Gatehouse drains in-flight requests on SIGTERM; none are left by then.
	defer gh.stop(30 * time.Second)
	if err := waitUntil(ctx, gh, 30*time.Second, getOK(base+"/readyz")); err != nil {
		return err
	}

	cookie, token, err := signIn(base, o.user, password)
	if err != nil {
		return errors.Join(err, fmt.Errorf("gatehouse's log ends with:\n%s", gh.logTail()))
	}

	endpoints := []endpoint{
		{"GET /api/auth/vcfsso/refresh", getWith(base+"/api/auth/vcfsso/refresh?env=development",
			"Cookie", cookie, "X-Requested-With", "XMLHttpRequest")},
		{"GET /api/auth/.well-known/jwks.json", getWith(base + "/api/auth/.well-known/jwks.json")},
		{"GET /api/auth/v1/userinfo", getWith(base+"/api/auth/v1/userinfo", "Authorization", "Bearer "+token)},
	}
	// The floor: the JWKS bytes Gatehouse serves, from a bare server.
	floor, err := startFloor(ctx, self, dir, base+"/api/auth/.well-known/jwks.json", floorPort)
	if err != nil {
		return err
	}
	defer floor.stop(5 * time.Second)
	endpoints = append(endpoints, endpoint{floorName, getWith(fmt.Sprintf("http://127.0.0.1:%d/", floorPort))})

	maxConc := slices.Max(o.concurrency)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * maxConc,
		MaxIdleConnsPerHost: 2 * maxConc,
		IdleConnTimeout:     90 * time.Second,
	}}
	var stop atomic.Bool
	go func() { <-ctx.Done(); stop.Store(true) }()

	ghCPU, idpCPU, genCPU := cpuMeter{gh.pid()}, cpuMeter{idp.pid()}, cpuMeter{os.Getpid()}
	floorCPU := cpuMeter{floor.pid()}
	ghStat0, err := ghCPU.statCPU()
	if err != nil {
		return err
	}
	ghSched0, err := ghCPU.cpu()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benche2e: gatehouse pid %d on %s (SQLite in %s), dev IdP pid %d at %s, %s signed in; %v per cell, %d CPUs\n",
		gh.pid(), base, dir, idp.pid(), issuer, o.user, o.duration, runtime.NumCPU())

	var rows []cellResult
	failed := 0
	for i, ep := range endpoints {
		if o.warmup > 0 {
			if _, _, _, _, err := drive(ctx, client, ep, maxConc, o.warmup, &stop); err != nil {
				return err
			}
		}
		for _, c := range o.concurrency {
			// The profiled cell runs after an unprofiled one of its own:
			// profiling costs CPU, and the summary takes the unprofiled.
			passes := []bool{false}
			if o.cpuprofile != "" && i == 0 && c == refConc {
				passes = append(passes, true)
			}
			for _, profile := range passes {
				server := ghCPU
				if ep.name == floorName {
					server = floorCPU // its row's "Gatehouse" columns are the floor server's
				}
				r, err := measure(ctx, client, ep, c, o.duration, &stop, server, idpCPU, genCPU, profile, debugPort, o.cpuprofile)
				if err != nil {
					return err
				}
				if ctx.Err() != nil {
					return errors.New("interrupted")
				}
				if e := gh.exited(); e != nil {
					return e
				}
				fmt.Fprintf(stderr, "benche2e: %s c=%d: %s req/s, p50 %s, p99 %s, Gatehouse %s CPU/req, %d errors\n",
					ep.name, c, thousands(r.rate()), fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.perRequest(r.gatehouseCPU)), r.errors)
				if r.errors > 0 {
					failed += r.errors
					fmt.Fprintf(stderr, "benche2e: %s c=%d: first error: %s\n", ep.name, c, r.firstErr)
				}
				rows = append(rows, r)
			}
		}
	}
	peak, err := ghCPU.memKB("VmHWM")
	if err != nil {
		return err
	}
	ghSched1, err := ghCPU.cpu()
	if err != nil {
		return err
	}
	ghStat1, err := ghCPU.statCPU()
	if err != nil {
		return err
	}

	s := summary{conc: refConc, ncpu: runtime.NumCPU(), peakRSSKB: peak, schedCPU: ghSched1 - ghSched0, statCPU: ghStat1 - ghStat0}
	for i := range rows {
		r := &rows[i]
		switch r.endpoint {
		case endpoints[0].name:
			if r.conc == refConc && !r.profiled {
				s.refresh = r
			}
			if s.refreshMax == nil || r.rate() > s.refreshMax.rate() {
				s.refreshMax = r
			}
		case endpoints[1].name:
			if r.conc == refConc {
				s.jwks = r
			}
		case floorName:
			if r.conc == refConc {
				s.floor = r
			}
		}
	}
	fmt.Fprintf(stdout, "\nGatehouse end to end: %s serve (SQLite), the dev IdP, and this load generator, on %d CPUs; %v per cell.\n\n", o.gatehouse, runtime.NumCPU(), o.duration)
	writeTable(stdout, rows)
	fmt.Fprintln(stdout)
	writeSummary(stdout, s)
	if o.cpuprofile != "" {
		fmt.Fprintln(stdout)
		if err := printTop(stdout, o.cpuprofile); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d requests did not get 200 (every answer must)", failed)
	}
	return nil
}

// startFloor fetches the JWKS once and starts `benche2e floor` serving its
// bytes on port.
func startFloor(ctx context.Context, self, dir, jwksURL string, port int) (*child, error) {
	resp, err := http.Get(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("JWKS for the floor server: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("JWKS for the floor server: %s %v", resp.Status, err)
	}
	bodyFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(bodyFile, body, 0o600); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	floor, err := startChild("the floor server", filepath.Join(dir, "floor.log"), self, "floor", "--addr", addr, "--body", bodyFile)
	if err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, floor, 10*time.Second, getOK("http://"+addr+"/")); err != nil {
		floor.stop(time.Second)
		return nil, err
	}
	return floor, nil
}

// measure runs one cell and reads each process's CPU time around it. With
// profile set, a CPU profile of Gatehouse is taken over the cell (through
// --debug-addr) and written to profilePath.
func measure(ctx context.Context, client *http.Client, ep endpoint, conc int, d time.Duration, stop *atomic.Bool,
	gh, idp, gen cpuMeter, profile bool, debugPort int, profilePath string) (cellResult, error) {
	r := cellResult{endpoint: ep.name, conc: conc, profiled: profile}
	var profErr chan error
	if profile {
		profErr = make(chan error, 1)
		go func() { profErr <- fetchProfile(ctx, debugPort, max(1, int(d.Seconds())), profilePath) }()
	}
	var before, after [3]time.Duration
	meters := [3]cpuMeter{gh, idp, gen}
	for i, m := range meters {
		var err error
		if before[i], err = m.cpu(); err != nil {
			return r, err
		}
	}
	busy0, err := machineBusy()
	if err != nil {
		return r, err
	}
	lat, errs, first, wall, err := drive(ctx, client, ep, conc, d, stop)
	if err != nil {
		return r, err
	}
	busy1, err := machineBusy()
	if err != nil {
		return r, err
	}
	for i, m := range meters {
		if after[i], err = m.cpu(); err != nil {
			return r, err
		}
	}
	slices.Sort(lat)
	r.wall, r.requests, r.errors, r.firstErr = wall, len(lat), errs, first
	r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	r.gatehouseCPU, r.idpCPU, r.generatorCPU = after[0]-before[0], after[1]-before[1], after[2]-before[2]
	// Everything else the machine ran meanwhile (other work on shared
	// cores); ticks make it coarse, and it never goes below zero.
	r.otherCPU = max(0, busy1-busy0-r.gatehouseCPU-r.idpCPU-r.generatorCPU)
	if r.rssKB, err = gh.memKB("VmRSS"); err != nil {
		return r, err
	}
	if profile {
		if err := <-profErr; err != nil {
			return r, fmt.Errorf("CPU profile: %w", err)
		}
	}
	return r, nil
}

// fetchProfile takes a CPU profile of Gatehouse for seconds through its
// --debug-addr and writes it to path.
func fetchProfile(ctx context.Context, port, seconds int, path string) error {
	u := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, seconds)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s: %s %s", u, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printTop prints the profile's top ten functions by own (flat) CPU, with
// their cumulative CPU beside, through `go tool pprof` ($GO, else go),
// without pprof's file and build-id header lines.
func printTop(w io.Writer, path string) error {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.Command(goCmd, "tool", "pprof", "-top", "-nodecount=10", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go tool pprof %s: %w\n%s", path, err, out)
	}
	fmt.Fprintf(w, "CPU profile of gatehouse during /refresh c=%d (%s), top ten by own CPU:\n\n```\n", refConc, path)
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "File:") && !strings.HasPrefix(line, "Build ID:") && !strings.HasPrefix(line, "Time:") && !strings.HasPrefix(line, "Type:") {
			fmt.Fprint(w, line)
		}
	}
	fmt.Fprintln(w, "```")
	return nil
}

// getOK is a readiness check: GET u answers 200.
func getOK(u string) func() error {
	c := &http.Client{Timeout: 2 * time.Second}
	return func() error {
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return nil
	}
}

// getWith builds a GET of u with the header pairs kv (name, value, …).
func getWith(u string, kv ...string) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		return req, nil
	}
}

// appConfig is Gatehouse's app-config: examples/dev/app-config.yaml's
// vcfsso provider and resolvers, on loopback ports of this run, with the
// SQLite file and the metrics listener of this run.
func appConfig(base string, port, metricsPort int, issuer, sqlite, catalog string) string {
	return fmt.Sprintf(`app:
  baseUrl: %[1]s
backend:
  baseUrl: %[1]s
  listen: {host: 127.0.0.1, port: %[2]d}
  database: {client: better-sqlite3, connection: %[3]q}
gatehouse:
  metrics: {listen: "127.0.0.1:%[4]d"}
auth:
  environment: development
  session:
    secret: %[5]s
  providers:
    vcfsso:
      development:
        metadataUrl: %[6]s/
        clientId: %[7]s
        clientSecret: %[8]s
        prompt: auto
        additionalScopes: [offline_access]
        sessionDuration: { hours: 24 }
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: preferredUsernameMatchingUserEntityName
catalog:
  locations:
    - type: file
      target: %[9]q
`, base, port, sqlite, metricsPort, sessionKey, issuer, clientID, clientSecret, catalog)
}
