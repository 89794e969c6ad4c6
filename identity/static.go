package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// StaticKey is one key of auth.keyStore.static.keys: an operator-managed
// key pair that never rotates.
type StaticKey struct {
	// KID is keyId, the JWS "kid".
	KID string
	// Algorithm is ES256 or RS256.
	Algorithm string
	// Public is the published half.
	Public crypto.PublicKey
	// Private signs; required for the first key only (the others are
	// published so that tokens they signed elsewhere keep verifying).
	Private crypto.Signer
}

// StaticAlgorithms are the algorithms static keys may use.
var StaticAlgorithms = []string{"ES256", "RS256"}

// LoadStaticKey reads a key pair from PEM files: an SPKI public key
// ("PUBLIC KEY") and, when privateKeyFile is not "", a PKCS#8 private key
// ("PRIVATE KEY"; SEC 1 "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY" are
// accepted too). It checks the algorithm fits the key and that the two
// halves match. Errors name the file, never its contents.
func LoadStaticKey(kid, alg, publicKeyFile, privateKeyFile string) (StaticKey, error) {
	k := StaticKey{KID: kid, Algorithm: alg}
	if kid == "" {
		return k, fmt.Errorf("keyId is required")
	}
	pubPEM, err := os.ReadFile(publicKeyFile)
	if err != nil {
		return k, fmt.Errorf("reading publicKeyFile: %w", err)
	}
	if k.Public, err = ParsePublicKeyPEM(pubPEM); err != nil {
		return k, fmt.Errorf("publicKeyFile %s: %w", publicKeyFile, err)
	}
	if privateKeyFile != "" {
		privPEM, err := os.ReadFile(privateKeyFile)
		if err != nil {
			return k, fmt.Errorf("reading privateKeyFile: %w", err)
		}
		if k.Private, err = ParsePrivateKeyPEM(privPEM); err != nil {
			return k, fmt.Errorf("privateKeyFile %s: %w", privateKeyFile, err)
		}
		if !publicEqual(k.Private.Public(), k.Public) {
			return k, fmt.Errorf("privateKeyFile %s and publicKeyFile %s are not halves of one key pair", privateKeyFile, publicKeyFile)
		}
	}
	return k, k.check()
}

func (k StaticKey) check() error {
	switch pub := k.Public.(type) {
	case *ecdsa.PublicKey:
		if k.Algorithm != "ES256" || pub.Curve != elliptic.P256() {
			return fmt.Errorf("algorithm %q does not fit a %s EC key; use ES256 with a P-256 key", k.Algorithm, pub.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.Algorithm != "RS256" {
			return fmt.Errorf("algorithm %q does not fit an RSA key; use RS256", k.Algorithm)
		}
		if pub.N.BitLen() < 2048 {
			return fmt.Errorf("the RSA key has %d bits; at least 2048 are required", pub.N.BitLen())
		}
	default:
		return fmt.Errorf("unsupported key type %T; use an EC P-256 (ES256) or RSA (RS256) key", k.Public)
	}
	return nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// ParsePublicKeyPEM parses an SPKI ("PUBLIC KEY") PEM block.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("not a PEM \"PUBLIC KEY\" (SPKI) block")
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a valid SPKI public key")
	}
	return pub, nil
}

// ParsePrivateKeyPEM parses a PKCS#8 ("PRIVATE KEY"), SEC 1 or PKCS#1 PEM
// block holding an EC or RSA key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("no PEM block found")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want \"PRIVATE KEY\", PKCS#8)", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("not a valid %s", b.Type)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	switch s.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		return s, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T; use EC P-256 or RSA", key)
}

// StaticJWK is the published form of a static key: its public JWK with
// kid, alg and use "sig".
func StaticJWK(k StaticKey) ([]byte, error) {
	return jose.JSONWebKey{Key: k.Public, KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"}.MarshalJSON()
}

// useStaticKeys makes the first key the signer for ever and publishes all.
func (i *Issuer) useStaticKeys(keys []StaticKey) error {
	src := &staticKeySource{now: i.opts.Now}
	seen := map[string]bool{}
	for n, k := range keys {
		if err := k.check(); err != nil {
			return fmt.Errorf("identity: static key %q: %w", k.KID, err)
		}
		if seen[k.KID] {
			return fmt.Errorf("identity: static keyId %q is listed twice", k.KID)
		}
		seen[k.KID] = true
		jwk, err := StaticJWK(k)
		if err != nil {
			return fmt.Errorf("identity: static key %q: %w", k.KID, err)
		}
		src.keys = append(src.keys, PublicKey{KID: k.KID, JWK: jwk})
		if n == 0 {
			if k.Private == nil {
				return fmt.Errorf("identity: the first static key %q signs tokens, so it needs privateKeyFile", k.KID)
			}
			sk := newSigningKeyWith(k.KID, k.Algorithm, k.Private, i.opts.Now())
			sk.static = true
			i.cur.Store(sk)
		}
	}
	i.source = src
	return nil
}

// staticKeySource publishes the configured keys. They never age: ListKeys
// dates them now, so the JWKS window never drops them, and nothing is ever
// added or removed, so it is a KeySource and not a KeyStore.
type staticKeySource struct {
	now  func() time.Time
	keys []PublicKey
}

var _ KeySource = (*staticKeySource)(nil)

func (s *staticKeySource) ListKeys(context.Context) ([]PublicKey, error) {
	now := s.now()
	out := make([]PublicKey, len(s.keys))
	for n, k := range s.keys {
		k.CreatedAt = now
		out[n] = k
	}
	return out, nil
}

// GenerateKeyPair makes a key pair for alg (ES256: EC P-256; RS256: RSA
// 3072) and returns it as PKCS#8 and SPKI PEM, the files a static key
// store reads.
func GenerateKeyPair(alg string) (privatePEM, publicPEM []byte, err error) {
	var priv crypto.Signer
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, nil, fmt.Errorf("algorithm %q is not supported; use ES256 or RS256", alg)
	}
	if err != nil {
		return nil, nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), nil
}
