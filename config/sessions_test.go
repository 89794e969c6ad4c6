package config_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/config"
)

func TestRefreshGracePeriod(t *testing.T) {
	for yaml, want := range map[string]time.Duration{
		"":                            30 * time.Second,
		"gatehouse: {sessions: {}}\n": 30 * time.Second,
		"gatehouse: {sessions: {refreshGracePeriod: 45s}}\n":           45 * time.Second,
		"gatehouse: {sessions: {refreshGracePeriod: PT1M}}\n":          time.Minute,
		"gatehouse: {sessions: {refreshGracePeriod: {seconds: 10}}}\n": 10 * time.Second,
		"gatehouse: {sessions: {refreshGracePeriod: 0s}}\n":            0,
	} {
		cfg, err := config.LoadBytes("a.yaml", []byte(opsBase+yaml), config.Options{})
		if err != nil {
			t.Errorf("%q: %v", yaml, err)
			continue
		}
		if cfg.Sessions.RefreshGracePeriod != want {
			t.Errorf("%q: refreshGracePeriod = %v, want %v", yaml, cfg.Sessions.RefreshGracePeriod, want)
		}
	}
}

func TestRefreshGracePeriodProblems(t *testing.T) {
	for yaml, want := range map[string]string{
		"gatehouse: {sessions: {refreshGracePeriod: 30}}\n":  "gatehouse.sessions.refreshGracePeriod: plain number",
		"gatehouse: {sessions: {refreshGracePeriod: -5s}}\n": "gatehouse.sessions.refreshGracePeriod: must not be negative",
		"gatehouse: {sessions: {refreshGracePeriod: 1h}}\n":  "gatehouse.sessions.refreshGracePeriod: must be at most 10 minutes",
		"gatehouse: {sessions: {refreshGraceperiod: 5s}}\n":  "gatehouse.sessions.refreshGraceperiod",
		"gatehouse: {sessions: 5}\n":                         "gatehouse.sessions",
		"gatehouse: {sesions: {refreshGracePeriod: 5s}}\n":   "gatehouse.sesions",
	} {
		wantProblems(t, yaml, want)
	}
}
