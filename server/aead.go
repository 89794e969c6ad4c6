package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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

// seal returns nonce || ciphertext of plain under aead, with ad as
// additional data: the one layout of every sealed value (cookies, refresh
// grace records).
func seal(aead cipher.AEAD, plain, ad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plain, ad), nil
}

// errMalformedSealed is open's answer to a value too short to be sealed.
var errMalformedSealed = errors.New("malformed sealed value")

// open reverses seal: errMalformedSealed for a value of the wrong shape,
// another error when the integrity check fails.
func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(sealed) < ns+aead.Overhead() {
		return nil, errMalformedSealed
	}
	return aead.Open(nil, sealed[:ns], sealed[ns:], ad)
}

// sealCookie is seal, base64url-encoded for a cookie value.
func sealCookie(aead cipher.AEAD, plain, ad []byte) (string, error) {
	out, err := seal(aead, plain, ad)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// openCookie reverses sealCookie: errMalformedSealed for a value of the
// wrong shape, another error when the integrity check fails.
func openCookie(aead cipher.AEAD, cookie string, ad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil {
		return nil, errMalformedSealed
	}
	return open(aead, raw, ad)
}
