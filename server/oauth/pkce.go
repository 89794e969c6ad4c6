package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"regexp"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	pkceS256  = "S256"
	pkcePlain = "plain"
)

var (
	// pkceVerifierRE is RFC 7636 §4.1's code_verifier: 43 to 128
	// unreserved characters. A plain challenge is a verifier, so it must
	// match too: one that does not could never be redeemed.
	pkceVerifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	// s256ChallengeRE is BASE64URL(SHA256(verifier)) without padding,
	// always 43 characters.
	s256ChallengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// pkceMethods are the code_challenge methods /v1/authorize accepts, in
// the order discovery advertises them: S256 only, unless the operator
// restored Backstage's plain (spec §6.1).
func (c Config) pkceMethods() []string {
	if c.AllowPlainPKCE {
		return []string{pkceS256, pkcePlain}
	}
	return []string{pkceS256}
}

// checkCodeChallenge applies Gatehouse's PKCE rule at /v1/authorize: a
// challenge is required from every client, confidential ones included
// (Backstage requires it of public clients only), its method must be
// named (no RFC 7636 default of plain, as Backstage) and accepted, and the
// challenge must have the shape its method produces. Failures are
// InputErrors for the envelope; Backstage's text where it has one.
func (c Config) checkCodeChallenge(public bool, challenge, method string) error {
	switch {
	case challenge == "" && public:
		return autherr.Input("PKCE is required for public clients. Provide a code_challenge parameter.")
	case challenge == "":
		return autherr.Input("PKCE is required for all clients. Provide a code_challenge parameter.")
	case method == pkceS256:
		if !s256ChallengeRE.MatchString(challenge) {
			return autherr.Input("Invalid code_challenge: S256 requires 43 base64url characters")
		}
	case method == pkcePlain && c.AllowPlainPKCE:
		if !pkceVerifierRE.MatchString(challenge) {
			return autherr.Input("Invalid code_challenge: plain requires 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
		}
	default:
		return autherr.Input("Invalid code_challenge_method")
	}
	return nil
}

// verifyPKCE reports whether verifier, a code_verifier of RFC 7636's
// shape, proves challenge under method (S256 or plain; the method was
// checked when the session was created). The comparison takes constant
// time.
func verifyPKCE(method, challenge, verifier string) bool {
	if !pkceVerifierRE.MatchString(verifier) {
		return false
	}
	want := verifier
	switch method {
	case pkceS256:
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	case pkcePlain:
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
