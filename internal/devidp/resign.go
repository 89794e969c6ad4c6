package devidp

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// SignRS256 signs payload as a compact JWT (typ JWT) with kid and key. With
// SigningKey or ConsoleSigningKey it makes tokens that verify against this
// IdP's JWKS, for tests of what a relying party must refuse in a token
// whose signature is good.
func SignRS256(kid string, key *rsa.PrivateKey, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Resign returns the JWT raw with its claims changed by mutate, signed
// again with SignRS256. The original signature is not checked.
func Resign(raw, kid string, key *rsa.PrivateKey, mutate func(claims map[string]any)) (string, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", fmt.Errorf("devidp: not a compact RS256 JWT: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return "", err
	}
	mutate(claims)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return SignRS256(kid, key, payload)
}
