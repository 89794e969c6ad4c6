package sealbox

import (
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	a, err := Derive("secret", "label a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Derive("secret", "label b")
	s, err := Seal(a, []byte("hello"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Open(a, s, []byte("ad")); err != nil || string(p) != "hello" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	if _, err := Open(a, s, []byte("other")); err == nil {
		t.Error("opened with another ad")
	}
	if _, err := Open(b, s, []byte("ad")); err == nil {
		t.Error("opened under another label's key")
	}
	if _, err := Open(a, s[:5], []byte("ad")); !errors.Is(err, ErrMalformed) {
		t.Errorf("short value: %v", err)
	}
	if _, err := Derive("", "x"); err == nil {
		t.Error("empty secret accepted")
	}
}
