package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/config"
)

// TestLoggingConfig: gatehouse.logging sets the format and level; the
// --log-format flag, when given, wins.
func TestLoggingConfig(t *testing.T) {
	var buf bytes.Buffer
	cf := newConfigFlags("serve", &buf)
	_ = cf.fs.Parse(nil)
	log := cf.logger(&buf, config.Ops{LogFormat: "json", LogLevel: "warn"})
	log.Info("hidden")
	log.Warn("shown")
	if got := strings.TrimSpace(buf.String()); !strings.HasPrefix(got, `{"time":`) || strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) {
		t.Errorf("json at warn: %s", got)
	}
	// The flag, when given, wins over the config.
	buf.Reset()
	_ = cf.fs.Parse([]string{"--log-format", "text"})
	cf.logger(&buf, config.Ops{LogFormat: "json"}).Info("x")
	if !strings.HasPrefix(buf.String(), "time=") {
		t.Errorf("the flag did not win: %s", buf.String())
	}
}

// TestEachCommandOwnsItsFlags: a flag of another command is refused, not
// ignored, and a removed command names its replacement.
func TestEachCommandOwnsItsFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--config", "x.yaml", "--provider", "vcfsso"}, "flag provided but not defined: -provider"},
		{[]string{"serve", "--config", "x.yaml", "--claims", "c.json"}, "flag provided but not defined: -claims"},
		{[]string{"migrate", "--config", "x.yaml", "--skip-migrations"}, "flag provided but not defined: -skip-migrations"},
		{[]string{"check"}, "at least one --config file is required"},
		{[]string{"check", "--config", "x.yaml", "extra"}, `unexpected argument "extra"`},
		{[]string{"try", "--config", "x.yaml"}, "resolve --json"},
		{[]string{"dev"}, "cmd/gatehouse-dev"},
		{[]string{"nope"}, `unknown command "nope"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), c.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
