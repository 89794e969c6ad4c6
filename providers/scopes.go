package providers

import "strings"

// SplitScopes splits a scope string the way Backstage splits
// additionalScopes: on whitespace, '|' and ','. Empty parts are dropped and
// duplicates removed, keeping first-seen order. It never returns empty
// strings; it returns nil for a string with no scopes.
//
// It lives here, not in config, because scopes are a provider concept: the
// config decoder, the providers and the server's flows all split scope
// strings the same way, and the server must not import config to do so.
func SplitScopes(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == '|' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == '\u00a0' || r == '\u2028' || r == '\u2029' || r == '\ufeff' || (r > 0x7f && isUnicodeSpace(r))
	})
	var out []string
	seen := map[string]bool{}
	for _, p := range parts {
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

func isUnicodeSpace(r rune) bool {
	return strings.TrimSpace(string(r)) == ""
}
