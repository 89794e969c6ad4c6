package providertest

import (
	"time"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// Settings is a providers.Settings over a map of already-typed values, for
// testing a provider's Decode without the config loader. A value of the
// wrong Go type is recorded in Problems, as the loader records a value of
// the wrong YAML type.
type Settings struct {
	Values map[string]any
	// Problems are "key: message", in the order recorded.
	Problems []string
}

var _ providers.Settings = (*Settings)(nil)

func (s *Settings) get(key string, into func(any) bool) {
	if v, ok := s.Values[key]; ok && !into(v) {
		s.Problem(key, "wrong type")
	}
}

// String implements providers.Settings.
func (s *Settings) String(key string) string {
	var out string
	s.get(key, func(v any) bool { var ok bool; out, ok = v.(string); return ok })
	return out
}

// Secret implements providers.Settings.
func (s *Settings) Secret(key string) string { return s.String(key) }

// Bool implements providers.Settings.
func (s *Settings) Bool(key string) (value, set bool) {
	s.get(key, func(v any) bool { value, set = v.(bool); return set })
	return value, set
}

// Timeout implements providers.Settings; values are time.Durations.
func (s *Settings) Timeout(key string) (value time.Duration, set bool) {
	s.get(key, func(v any) bool { value, set = v.(time.Duration); return set })
	return value, set
}

// StringMap implements providers.Settings.
func (s *Settings) StringMap(key string) map[string]string {
	var out map[string]string
	s.get(key, func(v any) bool { var ok bool; out, ok = v.(map[string]string); return ok })
	return out
}

// Problem implements providers.Settings.
func (s *Settings) Problem(key, message string) {
	s.Problems = append(s.Problems, key+": "+message)
}
