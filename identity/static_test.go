package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeKeyPair(t *testing.T, dir, name, alg string) (priv, pub string) {
	t.Helper()
	p8, spki, err := GenerateKeyPair(alg)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(priv, p8, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, spki, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestStaticKeys: the first key signs for ever (no rotation), all keys are
// published with use "sig", and tokens and their uip proofs verify, for
// ES256 and RS256.
func TestStaticKeys(t *testing.T) {
	for _, alg := range StaticAlgorithms {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			priv1, pub1 := writeKeyPair(t, dir, "one", alg)
			_, pub2 := writeKeyPair(t, dir, "two", "ES256")
			k1, err := LoadStaticKey("key-1", alg, pub1, priv1)
			if err != nil {
				t.Fatal(err)
			}
			k2, err := LoadStaticKey("key-2", "ES256", pub2, "")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			iss, err := NewIssuer(Options{Issuer: "http://gh/api/auth", StaticKeys: []StaticKey{k1, k2}, Expiration: MinExpiration, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for range 3 {
				tok, err := iss.IssueToken(ctx, Claims{Sub: "user:default/alice"})
				if err != nil {
					t.Fatal(err)
				}
				hdr, _ := b64.DecodeString(strings.Split(tok.Token, ".")[0])
				if want := `{"typ":"vnd.backstage.user","alg":"` + alg + `","kid":"key-1"}`; string(hdr) != want {
					t.Fatalf("header %s, want %s", hdr, want)
				}
				if _, err := iss.VerifyUserToken(ctx, tok.Token); err != nil {
					t.Fatalf("token does not verify: %v", err)
				}
				lim, err := LimitedUserToken(tok.Token)
				if err != nil {
					t.Fatal(err)
				}
				if v, err := iss.VerifyUserToken(ctx, lim); err != nil || v.Type != TypeLimitedUser {
					t.Fatalf("uip proof does not verify: %v", err)
				}
				now = now.Add(10 * MinExpiration) // far past any rotation
			}
			body, err := iss.JWKS(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 2 {
				t.Fatalf("JWKS %s: %v", body, err)
			}
			for i, k := range set.Keys {
				if k["use"] != "sig" || k["kid"] != []string{"key-1", "key-2"}[i] || k["d"] != nil {
					t.Errorf("JWKS key %d = %v", i, k)
				}
			}
		})
	}
}

func TestStaticKeyErrors(t *testing.T) {
	dir := t.TempDir()
	priv, pub := writeKeyPair(t, dir, "a", "ES256")
	priv2, _ := writeKeyPair(t, dir, "b", "ES256")
	for name, c := range map[string]struct {
		kid, alg, pub, priv, want string
	}{
		"wrong alg":      {"k", "RS256", pub, priv, `algorithm "RS256" does not fit a P-256 EC key`},
		"mismatch":       {"k", "ES256", pub, priv2, "are not halves of one key pair"},
		"missing file":   {"k", "ES256", filepath.Join(dir, "nope.pub"), "", "reading publicKeyFile"},
		"private as pub": {"k", "ES256", priv, "", `not a PEM "PUBLIC KEY"`},
		"no kid":         {"", "ES256", pub, priv, "keyId is required"},
	} {
		_, err := LoadStaticKey(c.kid, c.alg, c.pub, c.priv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	k, err := LoadStaticKey("pub-only", "ES256", pub, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewIssuer(Options{Issuer: "x", StaticKeys: []StaticKey{k}}); err == nil || !strings.Contains(err.Error(), "needs privateKeyFile") {
		t.Errorf("first key without private half: %v", err)
	}
	// Static keys are the only published keys: a key store beside them
	// would be ignored, so it is refused.
	signer, err := LoadStaticKey("signer", "ES256", pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewIssuer(Options{Issuer: "x", StaticKeys: []StaticKey{signer}, Keys: NewMemoryKeyStore()}); err == nil || !strings.Contains(err.Error(), "cannot be used with them") {
		t.Errorf("static keys with a key store: %v", err)
	}
}

// TestParsePrivateKeyPEM: PKCS#8, SEC 1 and PKCS#1 blocks of EC and RSA
// keys parse to the same key; other blocks and types are refused by name.
func TestParsePrivateKeyPEM(t *testing.T) {
	ec := must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	rk := must[*rsa.PrivateKey](t)(rsa.GenerateKey(rand.Reader, 2048))
	ed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	block := func(typ string, der []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	ecP8, err8 := x509.MarshalPKCS8PrivateKey(ec)
	edP8, errEd := x509.MarshalPKCS8PrivateKey(ed)
	for name, c := range map[string]struct {
		pem  []byte
		want crypto.PublicKey // nil: refused with an error containing err
		err  string
	}{
		"PKCS#8 EC":   {pem: block("PRIVATE KEY", ecP8, err8), want: ec.Public()},
		"SEC 1":       {pem: block("EC PRIVATE KEY", sec1, err), want: ec.Public()},
		"PKCS#1":      {pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), nil), want: rk.Public()},
		"Ed25519":     {pem: block("PRIVATE KEY", edP8, errEd), err: "unsupported private key type"},
		"public key":  {pem: block("PUBLIC KEY", []byte{1}, nil), err: `PEM block "PUBLIC KEY" is not a private key`},
		"corrupt":     {pem: block("EC PRIVATE KEY", []byte{1, 2, 3}, nil), err: "not a valid EC PRIVATE KEY"},
		"not PEM":     {pem: []byte("hello"), err: "no PEM block found"},
		"empty input": {pem: nil, err: "no PEM block found"},
	} {
		got, err := ParsePrivateKeyPEM(c.pem)
		switch {
		case c.want != nil && (err != nil || !publicEqual(got.Public(), c.want)):
			t.Errorf("%s: %v, %v; want the key", name, got, err)
		case c.want == nil && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v; want an error with %q", name, err, c.err)
		}
	}
	if _, _, err := GenerateKeyPair("HS256"); err == nil || !strings.Contains(err.Error(), `"HS256" is not supported`) {
		t.Errorf("GenerateKeyPair(HS256): %v", err)
	}
}

// must ends t when a key generation fails, so that the tables below start
// with their keys.
func must[K any](t *testing.T) func(K, error) K {
	return func(k K, err error) K {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// TestStaticKeyCheck: a key's algorithm must fit its type and size.
func TestStaticKeyCheck(t *testing.T) {
	ec384 := must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	small := must[*rsa.PrivateKey](t)(rsa.GenerateKey(rand.Reader, 1024))
	edPub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	for name, c := range map[string]struct {
		k    StaticKey
		want string
	}{
		"P-384":     {StaticKey{KID: "k", Algorithm: "ES256", Public: ec384.Public()}, "does not fit a P-384 EC key"},
		"RSA as ES": {StaticKey{KID: "k", Algorithm: "ES256", Public: small.Public()}, "does not fit an RSA key"},
		"small RSA": {StaticKey{KID: "k", Algorithm: "RS256", Public: small.Public()}, "has 1024 bits"},
		"Ed25519":   {StaticKey{KID: "k", Algorithm: "EdDSA", Public: edPub}, "unsupported key type"},
	} {
		if err := c.k.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
