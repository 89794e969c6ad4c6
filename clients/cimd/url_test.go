package cimd

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateClientIDURL(t *testing.T) {
	dev := URLOptions{AllowHTTPLoopback: true}
	for _, tc := range []struct {
		id   string
		opts URLOptions
		err  string // "" = valid
	}{
		{"https://claude.ai/oauth/client.json", URLOptions{}, ""},
		{"https://example.com/a#", URLOptions{}, ""},
		{"https://example.com/a?", URLOptions{}, ""},
		{"https://example.com:8443/x/y", URLOptions{}, ""},
		{"https://example.com/a/./b", URLOptions{}, "dot segments"},
		{"https://example.com/a/..", URLOptions{}, "dot segments"},
		{"https://example.com/../b", URLOptions{}, "dot segments"},
		{"https://example.com/a/.b", URLOptions{}, ""},
		{"https://example.com/a/%2e%2E/b", URLOptions{}, "dot segments"},
		{"https://example.com/a/.%2e", URLOptions{}, "dot segments"},
		{"https://example.com/a/%2ex", URLOptions{}, ""},
		{"not a url", URLOptions{}, "not a valid URL"},
		{"https://exa mple.com/x", URLOptions{}, "not a valid URL"},
		{"https:\\\\example.com\\x", URLOptions{}, "not a valid URL"},
		{"https:opaque", URLOptions{}, "not a valid URL"},
		{"https://example.com:70000/x", URLOptions{}, "not a valid URL"},
		{"/relative/path", URLOptions{}, "not a valid URL"},
		{"http://example.com/x", URLOptions{}, "must use HTTPS"},
		{"http://localhost/x", URLOptions{}, "must use HTTPS"},
		{"http://localhost:3000/x", dev, ""},
		{"http://127.0.0.1/x", dev, ""},
		{"http://[::1]/x", dev, "must use HTTPS"},
		{"http://example.com/x", dev, "must use HTTPS"},
		{"ftp://example.com/x", URLOptions{}, "must use HTTPS"},
		{"https://example.com", URLOptions{}, "must have a path component"},
		{"https://example.com/", URLOptions{}, "must have a path component"},
		{"https://example.com/x#frag", URLOptions{}, "must not contain a fragment"},
		{"https://user:pw@example.com/x", URLOptions{}, "must not contain credentials"},
		{"https://user@example.com/x", URLOptions{}, "must not contain credentials"},
		{"https://example.com/x?a=b", URLOptions{}, "must not contain a query string"},
	} {
		u, err := ValidateClientIDURL(tc.id, tc.opts)
		if tc.err == "" {
			if err != nil || u == nil {
				t.Errorf("%q: got %v, want valid", tc.id, err)
			}
			if !IsCIMDURL(tc.id, tc.opts) {
				t.Errorf("IsCIMDURL(%q) = false", tc.id)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrNotCIMDURL) {
			t.Errorf("%q: got %v, want error containing %q wrapping ErrNotCIMDURL", tc.id, err, tc.err)
		}
		if IsCIMDURL(tc.id, tc.opts) {
			t.Errorf("IsCIMDURL(%q) = true", tc.id)
		}
	}
}
