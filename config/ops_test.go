package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
)

const opsBase = "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007}\n"

func TestOpsDefaultsAndSettings(t *testing.T) {
	cfg, err := config.LoadBytes("a.yaml", []byte(opsBase), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Ops{MetricsEnabled: true, MetricsListen: ":9464", ShutdownGracePeriod: 25 * time.Second}
	if cfg.Ops != want {
		t.Errorf("defaults = %+v, want %+v", cfg.Ops, want)
	}
	cfg, err = config.LoadBytes("a.yaml", []byte(opsBase+`
gatehouse:
  metrics: {enabled: false, listen: "127.0.0.1:9000"}
  shutdown: {gracePeriod: {seconds: 5}}
  logging: {format: json, level: WARN}
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = config.Ops{MetricsListen: "127.0.0.1:9000", ShutdownGracePeriod: 5 * time.Second, LogFormat: "json", LogLevel: "warn"}
	if cfg.Ops != want {
		t.Errorf("settings = %+v, want %+v", cfg.Ops, want)
	}
	cfg, err = config.LoadBytes("a.yaml", []byte(opsBase+"gatehouse: {metrics: {listen: 9100}}\n"), config.Options{})
	if err != nil || cfg.Ops.MetricsListen != ":9100" {
		t.Errorf("a bare port: %v %+v", err, cfg)
	}
}

func TestOpsProblemsNameTheirKey(t *testing.T) {
	_, err := config.LoadBytes("a.yaml", []byte(opsBase+`
gatehouse:
  metrics: {listen: "nowhere:port", enabeld: true}
  shutdown: {gracePeriod: 5}
  logging: {format: xml, level: loud}
`), config.Options{})
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] = p.Message
	}
	for path, msg := range map[string]string{
		"gatehouse.metrics.listen":       `unable to parse listen address "nowhere:port"`,
		"gatehouse.metrics.enabeld":      "",
		"gatehouse.shutdown.gracePeriod": "plain number",
		"gatehouse.logging.format":       `expected text or json, got "xml"`,
		"gatehouse.logging.level":        `got "loud"`,
	} {
		m, ok := got[path]
		if !ok || !strings.Contains(m, msg) {
			t.Errorf("%s: %q (reported %v); want it to mention %q", path, m, ok, msg)
		}
	}
}
