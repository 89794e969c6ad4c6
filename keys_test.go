package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/config"
	"github.com/gatehouse-auth/gatehouse/identity"
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
			gw, err := build(cfg, buildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			tok, err := gw.tokens.IssueToken(ctx, identity.Claims{Sub: "user:default/alice"})
			if err != nil {
				t.Fatal(err)
			}
			if v, err := gw.tokens.VerifyUserToken(ctx, tok.Token); err != nil || v.Sub != "user:default/alice" {
				t.Fatalf("verify: %v", err)
			}
			jwks, _ := gw.tokens.JWKS(ctx)
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
	if _, err := build(cfg, buildOptions{}); err == nil || !strings.Contains(err.Error(), "auth.keyStore.static.keys[0]") {
		t.Errorf("missing key file: %v", err)
	}
}
