package providers

import (
	"reflect"
	"testing"
)

func TestSplitScopes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  , | ", nil},
		{"openid", []string{"openid"}},
		{"a b", []string{"a", "b"}},
		{"a,b|c\td\ne", []string{"a", "b", "c", "d", "e"}},
		{"a\u00a0b\u2028c\u3000d", []string{"a", "b", "c", "d"}},
		{"groups, groups  offline_access|groups", []string{"groups", "offline_access"}},
		{"b a b c a", []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		if got := SplitScopes(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitScopes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
