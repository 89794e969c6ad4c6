package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

const sessionsUsage = `Usage:
  gatehouse sessions revoke --config FILE … --user user:NAMESPACE/NAME [--provider ID]
      ends every session of that user entity that started before now, for
      every provider or only ID: each replica on backend.database refuses
      their next /refresh
  gatehouse sessions list --config FILE … [--user user:NAMESPACE/NAME]
      shows the session-end records (back-channel logouts and revocations)
`

// entityRefPattern is a full user entity ref, kind:namespace/name, as
// resolvers produce it.
var entityRefPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*:[^/:\s]+/[^/:\s]+$`)

// runSessions is `gatehouse sessions`: it records operator logouts in the
// database every replica reads at /refresh, and lists the records.
func runSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	if sub == "help" || sub == "-h" || sub == "--help" {
		fmt.Fprint(stdout, sessionsUsage)
		return 0
	}
	if sub != "revoke" && sub != "list" {
		fmt.Fprintf(stderr, "gatehouse sessions: unknown subcommand %q\n\n%s", sub, sessionsUsage)
		return 2
	}
	cf := newConfigFlags("sessions "+sub, stderr)
	user := cf.fs.String("user", "", "user entity ref, e.g. user:default/alice")
	provider := ""
	if sub == "revoke" {
		cf.fs.StringVar(&provider, "provider", "", "provider id whose sessions end; default every provider")
	}
	if !cf.parse(args, stderr) {
		return 2
	}
	if *user != "" && !entityRefPattern.MatchString(*user) {
		fmt.Fprintf(stderr, "gatehouse sessions %s: --user %q is not an entity ref like user:default/alice\n", sub, *user)
		return 2
	}
	if sub == "revoke" && *user == "" {
		fmt.Fprintln(stderr, "gatehouse sessions revoke: --user is required")
		return 2
	}
	cfg, logger, ok := cf.load(stderr)
	if !ok {
		return 1
	}
	if _, known := cfg.Auth.Providers[provider]; provider != "" && !known {
		ids := make([]string, 0, len(cfg.Auth.Providers))
		for id := range cfg.Auth.Providers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		fmt.Fprintf(stderr, "gatehouse sessions revoke: --provider %q is not in auth.providers (configured: %s)\n", provider, strings.Join(ids, ", "))
		return 2
	}
	db, err := gateway.OpenDatabase(ctx, cfg, logger, true)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	if sub == "list" {
		return listSessionEnds(ctx, db, *user, stdout, stderr)
	}
	end := identity.SessionEnd{Provider: provider, UserEntityRef: *user, Before: time.Now(),
		Reason: identity.ReasonOperator, Source: "gatehouse sessions revoke"}
	if err := db.EndSessions(ctx, end); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	which := "every provider"
	if provider != "" {
		which = "provider " + provider
	}
	fmt.Fprintf(stdout, "ended the sessions of %s (%s) that started before %s; every replica on %s refuses their refreshes\n",
		*user, which, end.Before.UTC().Format(time.RFC3339), db)
	return 0
}

func listSessionEnds(ctx context.Context, store identity.SessionEndStore, user string, stdout, stderr io.Writer) int {
	ends, err := store.List(ctx, identity.SessionEndFilter{UserEntityRef: user})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(ends) == 0 {
		fmt.Fprintln(stdout, "no session-end records")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDED BEFORE\tREASON\tPROVIDER\tUSER\tSUB\tSID\tSOURCE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, e := range ends {
		p := e.Provider
		if p == "" {
			p = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Before.UTC().Format(time.RFC3339), e.Reason, p,
			dash(e.UserEntityRef), dash(e.Sub), dash(e.SID), dash(e.Source))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
