package server

import (
	"crypto/cipher"
	"encoding/base64"

	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
)

// sealCookie is sealbox.Seal, base64url-encoded for a cookie value.
func sealCookie(aead cipher.AEAD, plain, ad []byte) (string, error) {
	out, err := sealbox.Seal(aead, plain, ad)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// openCookie reverses sealCookie: sealbox.ErrMalformed for a value of the
// wrong shape, another error when the integrity check fails.
func openCookie(aead cipher.AEAD, cookie string, ad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil {
		return nil, sealbox.ErrMalformed
	}
	return sealbox.Open(aead, raw, ad)
}
