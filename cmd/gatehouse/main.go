// Command gatehouse is a standalone auth server that speaks Backstage's
// auth-backend protocol (/api/auth/...). Each command lives in its own
// file with its own flags:
//
//	gatehouse serve       --config app-config.yaml [--config more.yaml …]   (serve.go)
//	gatehouse check       --config …                                         (check.go)
//	gatehouse migrate     --config …                                         (migrate.go)
//	gatehouse resolve     --config … --provider vcfsso --claims sample.json  (resolve.go)
//	gatehouse keys        generate|inspect …                                 (keys.go)
//	gatehouse sessions    revoke|list --config … --user user:default/alice   (sessions.go)
//	gatehouse healthcheck [URL]                                              (healthcheck.go)
//
// The demo (dev IdP + Gatehouse) is a separate binary, cmd/gatehouse-dev,
// so that this one links no OpenID provider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/config"
)

const usage = `gatehouse: a Backstage-compatible auth server

Usage:
  gatehouse serve   --config FILE [--config FILE …]   run the server
  gatehouse check   --config FILE …                   validate the config and exit
  gatehouse migrate --config FILE …                   apply the database schema migrations and exit
  gatehouse resolve --config FILE … --provider ID [--env ENV] --claims FILE [--json]
                                                      run the transforms and resolvers (with WebAssembly modules) on sample claims
  gatehouse keys    generate|inspect …                write or show a static signing key pair
  gatehouse sessions revoke|list --config FILE … --user REF [--provider ID]
                                                      end a user's sessions on every replica, or list what ended
  gatehouse healthcheck [URL]                         probe URL (default http://127.0.0.1:9464/readyz); exit 0 on 200

Run "gatehouse COMMAND -h" for a command's flags. The demo is "make run"
(cmd/gatehouse-dev).
`

// commands are gatehouse's subcommands; each parses its own flags.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"serve":       runServe,
	"check":       runCheck,
	"migrate":     runMigrate,
	"sessions":    runSessions,
	"resolve":     runResolve,
	"keys":        runKeys,
	"healthcheck": runHealthcheck,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to the command args[0] names and returns the exit code:
// 0 success, 1 failure, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "try":
		fmt.Fprintf(stderr, "gatehouse try became \"gatehouse resolve --json\" (same flags; --profile is now --claims)\n")
		return 2
	case "dev":
		fmt.Fprintf(stderr, "gatehouse dev is the demo binary now: make run, or go run ./cmd/gatehouse-dev\n")
		return 2
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", name, usage)
		return 2
	}
	return cmd(ctx, args, stdout, stderr)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// configFlags are the flags of every command that reads app-config:
// --config (repeatable) and --log-format.
type configFlags struct {
	fs        *flag.FlagSet
	files     stringList
	logFormat string
}

// newConfigFlags makes the FlagSet of command name with the config flags.
func newConfigFlags(name string, stderr io.Writer) *configFlags {
	cf := &configFlags{fs: flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)}
	cf.fs.SetOutput(stderr)
	cf.fs.Var(&cf.files, "config", "app-config file; repeat to merge several, the later one winning")
	cf.fs.StringVar(&cf.logFormat, "log-format", "text", "log format: text or json")
	return cf
}

// parse parses args and checks that at least one --config was given; a
// false result means usage was printed and the command exits 2.
func (cf *configFlags) parse(args []string, stderr io.Writer) bool {
	if err := cf.fs.Parse(args); err != nil {
		return false
	}
	if cf.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", cf.fs.Name(), cf.fs.Arg(0))
		return false
	}
	if len(cf.files) == 0 {
		fmt.Fprintf(stderr, "%s: at least one --config file is required\n", cf.fs.Name())
		return false
	}
	return true
}

// load loads the config files and returns it with the logger
// gatehouse.logging asks for; on error it prints the problems.
func (cf *configFlags) load(stderr io.Writer) (*config.Config, *slog.Logger, bool) {
	cfg, err := config.Load(cf.files)
	if err != nil {
		printProblems(stderr, err)
		return nil, nil, false
	}
	return cfg, cf.logger(stderr, cfg.Ops), true
}

// logger applies gatehouse.logging: its format unless --log-format was
// given, and its level.
func (cf *configFlags) logger(w io.Writer, o config.Ops) *slog.Logger {
	format := cf.logFormat
	given := false
	cf.fs.Visit(func(f *flag.Flag) { given = given || f.Name == "log-format" })
	if !given && o.LogFormat != "" {
		format = o.LogFormat
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(o.LogLevel)) // validated by config; "" stays info
	return newLogger(w, format, level)
}

// newLogger logs to w as text, or JSON when format is "json".
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// printProblems prints config problems one per line with their count, or
// any other error as it is.
func printProblems(w io.Writer, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(w, p.String())
		}
		fmt.Fprintf(w, "%d problem(s) found\n", len(ps))
		return
	}
	fmt.Fprintln(w, err)
}
