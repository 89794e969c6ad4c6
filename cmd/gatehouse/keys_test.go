package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/gateway"
)

// TestKeysRoundTrip: `gatehouse keys generate` writes a pair, `keys
// inspect` accepts it, and a static key store configured with the printed
// block signs tokens that verify through the JWKS, without rotating.
func TestKeysRoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"keys", "generate", "--out", dir, "--kid", "k-" + alg, "--alg", alg}, &out, &errb); code != 0 {
				t.Fatalf("keys generate: %d %s", code, errb.String())
			}
			priv, pub := filepath.Join(dir, "k-"+alg+".key"), filepath.Join(dir, "k-"+alg+".pub")
			if st, err := os.Stat(priv); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("private key file: %v %v", st, err)
			}
			if b, _ := os.ReadFile(priv); !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Errorf("private key is not PKCS#8 PEM")
			}
			if b, _ := os.ReadFile(pub); !bytes.HasPrefix(b, []byte("-----BEGIN PUBLIC KEY-----")) {
				t.Errorf("public key is not SPKI PEM")
			}
			// Never overwrite a key.
			if code := run(context.Background(), []string{"keys", "generate", "--out", dir, "--kid", "k-" + alg, "--alg", alg}, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
				t.Error("keys generate overwrote an existing key")
			}
			var ins bytes.Buffer
			if code := run(context.Background(), []string{"keys", "inspect", "--public-key-file", pub, "--private-key-file", priv, "--kid", "k-" + alg, "--alg", alg}, &ins, &errb); code != 0 || !strings.Contains(ins.String(), `"use":"sig"`) || strings.Contains(ins.String(), `"d":`) {
				t.Fatalf("keys inspect: %d %s %s", code, ins.String(), errb.String())
			}

			yaml := "app: {baseUrl: http://localhost:3000}\nbackend: {baseUrl: http://localhost:7007}\n" + out.String()[strings.Index(out.String(), "auth:"):]
			cfg, err := config.LoadBytes("keys.yaml", []byte(yaml), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			gw, err := gateway.Build(cfg, gateway.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			tok, err := gw.Tokens().IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
			if err != nil {
				t.Fatal(err)
			}
			if v, err := gw.Tokens().VerifyUserToken(ctx, tok.Token); err != nil || v.Sub != "user:default/alice" {
				t.Fatalf("verify: %v", err)
			}
			jwks, _ := gw.Tokens().JWKS(ctx)
			if !strings.Contains(string(jwks), `"kid":"k-`+alg+`"`) || !strings.Contains(string(jwks), `"alg":"`+alg+`"`) {
				t.Errorf("JWKS %s", jwks)
			}
		})
	}
	// A missing file is a problem naming the key entry.
	cfg, err := config.LoadBytes("k.yaml", []byte("app: {baseUrl: http://a}\nbackend: {baseUrl: http://b}\nauth: {keyStore: {provider: static, static: {keys: [{keyId: x, publicKeyFile: /nonexistent.pub, privateKeyFile: /nonexistent.key}]}}}\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Build(cfg, gateway.Options{}); err == nil || !strings.Contains(err.Error(), "auth.keyStore.static.keys[0]") {
		t.Errorf("missing key file: %v", err)
	}
}

// TestDefaultKIDIsJWKThumbprint: without --kid a key is named by its RFC
// 7638 thumbprint; checked against the example of RFC 7638 §3.1 and
// against go-jose's computation of the same JWK.
func TestDefaultKIDIsJWKThumbprint(t *testing.T) {
	const rfcJWK = `{"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`
	const rfcThumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(rfcJWK)); err != nil {
		t.Fatal(err)
	}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(sum); got != rfcThumbprint {
		t.Fatalf("go-jose thumbprint %s, RFC 7638 says %s", got, rfcThumbprint)
	}
	der, err := x509.MarshalPKIXPublicKey(jwk.Key)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := defaultKID(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil || kid != rfcThumbprint {
		t.Fatalf("defaultKID = %q, %v; want %s", kid, err, rfcThumbprint)
	}

	// `keys generate` without --kid names the files by the thumbprint, and
	// `keys inspect` without --kid derives the same kid.
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keys", "generate", "--out", dir, "--alg", "ES256"}, &out, &errb); code != 0 {
		t.Fatalf("generate: %d %s", code, errb.String())
	}
	pubs, _ := filepath.Glob(filepath.Join(dir, "*.pub"))
	if len(pubs) != 1 {
		t.Fatalf("public key files: %v", pubs)
	}
	pubPEM, err := os.ReadFile(pubs[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, err := identity.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	sum, err = (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	want := base64.RawURLEncoding.EncodeToString(sum)
	if filepath.Base(pubs[0]) != want+".pub" || !strings.Contains(out.String(), "keyId: "+want+"\n") {
		t.Fatalf("generated %s, printed:\n%s\nwant kid %s", pubs[0], out.String(), want)
	}
	var ins bytes.Buffer
	if code := run(context.Background(), []string{"keys", "inspect", "--public-key-file", pubs[0]}, &ins, &errb); code != 0 || !strings.Contains(ins.String(), `"kid":"`+want+`"`) {
		t.Fatalf("inspect: %d %s %s", code, ins.String(), errb.String())
	}
}
