package server

import "testing"

// TestURIUnreservedSet: the table holds exactly what JavaScript's
// encodeURIComponent leaves alone: A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func TestURIUnreservedSet(t *testing.T) {
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	for c := range 256 {
		want := false
		for i := range len(unreserved) {
			want = want || unreserved[i] == byte(c)
		}
		if uriUnreserved(byte(c)) != want {
			t.Errorf("byte %#x: unreserved = %v, want %v", c, !want, want)
		}
	}
	if got := encodeURIComponent("a b/ü;=%"); got != "a%20b%2F%C3%BC%3B%3D%25" {
		t.Errorf("encodeURIComponent: %q", got)
	}
}
