package oauth

import (
	"strings"
	"testing"
)

func TestVerifyPKCE(t *testing.T) {
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		method, challenge, verifier string
		want                        bool
	}{
		{pkceS256, testChallenge, testVerifier, true},
		{pkceS256, testChallenge, testVerifier[1:] + "A", false},
		{pkceS256, testChallenge, "short", false},
		{pkcePlain, testVerifier, testVerifier, true},
		{pkcePlain, long, long, false},
		{pkcePlain, testVerifier + " ", testVerifier + " ", false},
		{"", testVerifier, testVerifier, false},
		{"s256", testChallenge, testVerifier, false},
	} {
		if got := verifyPKCE(tc.method, tc.challenge, tc.verifier); got != tc.want {
			t.Errorf("verifyPKCE(%q, %q, %q) = %v", tc.method, tc.challenge, tc.verifier, got)
		}
	}
	plain := testConfig()
	plain.AllowPlainPKCE = true
	if got := strings.Join(testConfig().pkceMethods(), ","); got != "S256" {
		t.Errorf("methods %s", got)
	}
	if got := strings.Join(plain.pkceMethods(), ","); got != "S256,plain" {
		t.Errorf("methods with plain %s", got)
	}
}
