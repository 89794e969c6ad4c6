package devidptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is an RSA key pair with its key ID, for fake IdPs (httptest servers)
// that publish a JWKS and sign tokens, go-oidc-test style.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// NewKey makes a fresh 2048-bit RSA key named id. It fails t if the
// system's random source fails.
func NewKey(t testing.TB, id string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: id, Private: k}
}

// Sign returns claims as a compact JWS signed with alg (an RSA alg, RS* or
// PS*) and headed with the key's ID and typ JWT.
func (k Key) Sign(t testing.TB, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// JWKS returns the JSON Web Key Set publishing the public halves of keys,
// as an IdP's jwks_uri serves it.
func JWKS(keys ...Key) []byte {
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// sharedKeys are SharedKey's keys by ID.
var sharedKeys struct {
	sync.Mutex
	byID map[string]Key
}

// SharedKey returns the same key for id to every caller in the test
// binary, made by NewKey on first use: RSA key generation is slow under
// -race, and fake IdPs of different tests need not differ in keys.
func SharedKey(t testing.TB, id string) Key {
	t.Helper()
	sharedKeys.Lock()
	defer sharedKeys.Unlock()
	k, ok := sharedKeys.byID[id]
	if !ok {
		k = NewKey(t, id)
		if sharedKeys.byID == nil {
			sharedKeys.byID = map[string]Key{}
		}
		sharedKeys.byID[id] = k
	}
	return k
}
