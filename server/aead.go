package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
)

// deriveAEAD is AES-256-GCM under a key derived from auth.session.secret
// with HKDF-SHA256 and label: HKDF so that the raw secret is never a key
// itself, and one label per feature so that each seals with its own key
// (a transaction cookie does not open as a refresh grace record).
func deriveAEAD(secret, label string) (cipher.AEAD, error) {
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
