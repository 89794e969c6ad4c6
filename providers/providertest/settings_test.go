package providertest

import (
	"slices"
	"testing"
	"time"
)

func TestSettingsTypesAndProblems(t *testing.T) {
	s := &Settings{Values: map[string]any{"s": "x", "b": true, "t": time.Second, "m": map[string]string{"k": "v"}, "bad": 7}}
	if s.String("s") != "x" || s.Secret("s") != "x" || s.String("absent") != "" {
		t.Error("String")
	}
	if v, set := s.Bool("b"); !v || !set {
		t.Error("Bool")
	}
	if v, set := s.Timeout("t"); v != time.Second || !set {
		t.Error("Timeout")
	}
	if s.StringMap("m")["k"] != "v" || s.StringMap("absent") != nil {
		t.Error("StringMap")
	}
	_ = s.String("bad")
	if !slices.Equal(s.Problems, []string{"bad: wrong type"}) {
		t.Errorf("problems %v", s.Problems)
	}
}
