package server

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/sealbox"
	"github.com/gatehouse-auth/gatehouse/providers"
)

// transactionMaxAge is how long a login may take between /start and the
// callback. It matches the nonce cookie's 10 minutes.
const transactionMaxAge = 10 * time.Minute

// sealer seals the per-login secrets (OIDC nonce, PKCE verifier) into the
// <provider>-transaction cookie with AES-256-GCM. This replaces Backstage's
// express-session: any replica that shares auth.session.secret can finish a
// login another replica started, with no session store and no sticky
// sessions.
type sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// sealed is the cookie's plaintext. StateNonce binds it to the OAuth state
// of the same login, so two logins in one browser cannot swap secrets.
type sealed struct {
	StateNonce string                `json:"s"`
	Exp        int64                 `json:"e"`
	Txn        providers.Transaction `json:"t"`
}

func newSealer(secret string, now func() time.Time) (*sealer, error) {
	aead, err := sealbox.Derive(secret, "gatehouse transaction cookie v1")
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, now: now}, nil
}

// seal returns base64url(nonce || ciphertext). The provider id and env are
// additional data: a cookie from one provider or env is useless in another.
func (s *sealer) seal(providerID, env, stateNonce string, txn providers.Transaction) (string, error) {
	plain, err := json.Marshal(sealed{StateNonce: stateNonce, Exp: s.now().Add(transactionMaxAge).Unix(), Txn: txn})
	if err != nil {
		return "", err
	}
	return sealCookie(s.aead, plain, []byte(providerID+"\x00"+env))
}

// open checks and unseals a transaction cookie. Every failure is a
// NotAllowedError whose message says what was wrong, never what was inside.
func (s *sealer) open(providerID, env, stateNonce, cookie string) (providers.Transaction, error) {
	name := providerID + "-transaction"
	if cookie == "" {
		return providers.Transaction{}, autherr.NotAllowed("Auth response is missing the %s cookie; the sign-in must finish in the browser that started it, within 10 minutes", name)
	}
	plain, err := openCookie(s.aead, cookie, []byte(providerID+"\x00"+env))
	if errors.Is(err, sealbox.ErrMalformed) {
		return providers.Transaction{}, autherr.NotAllowed("The %s cookie is malformed", name)
	}
	if err != nil {
		return providers.Transaction{}, autherr.NotAllowed("The %s cookie failed its integrity check (tampered, or sealed with another auth.session.secret)", name)
	}
	var v sealed
	if err := json.Unmarshal(plain, &v); err != nil {
		return providers.Transaction{}, autherr.NotAllowed("The %s cookie is malformed", name)
	}
	if s.now().Unix() > v.Exp {
		return providers.Transaction{}, autherr.NotAllowed("The %s cookie has expired; start the sign-in again", name)
	}
	if v.StateNonce != stateNonce {
		return providers.Transaction{}, autherr.NotAllowed("The %s cookie belongs to another sign-in", name)
	}
	return v.Txn, nil
}
