// Package sealbox seals small values (cookies, refresh grace records) with
// AES-256-GCM under keys derived from one configured secret
// (auth.session.secret). Every sealed value has one layout,
// nonce || ciphertext, and each feature derives its own key with its own
// HKDF label, so a value sealed for one purpose never opens for another.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Derive returns AES-256-GCM under a key derived from secret with
// HKDF-SHA256 and label: HKDF so that the raw secret is never a key
// itself, and one label per feature so that each seals with its own key.
// An empty secret is an error.
func Derive(secret, label string) (cipher.AEAD, error) {
	if secret == "" {
		return nil, errors.New("auth.session.secret: required")
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, label, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal returns nonce || ciphertext of plain under aead with a fresh random
// nonce, with ad as additional data: Open succeeds only with the same ad.
func Seal(aead cipher.AEAD, plain, ad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plain, ad), nil
}

// ErrMalformed is Open's answer to a value too short to be sealed.
var ErrMalformed = errors.New("malformed sealed value")

// Open reverses Seal: ErrMalformed for a value of the wrong shape, another
// error when the integrity check fails (tampered, another key or ad).
func Open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(sealed) < ns+aead.Overhead() {
		return nil, ErrMalformed
	}
	return aead.Open(nil, sealed[:ns], sealed[ns:], ad)
}
