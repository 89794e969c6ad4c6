package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
)

const keysUsage = `Usage:
  gatehouse keys generate --out DIR [--kid ID] [--alg ES256|RS256]
      writes DIR/<kid>.key (PKCS#8 private key, mode 0600) and DIR/<kid>.pub
      (SPKI public key) and prints the auth.keyStore block that uses them
  gatehouse keys inspect --public-key-file FILE [--private-key-file FILE] [--kid ID] [--alg ES256|RS256]
      checks a key pair as the static key store will, and prints its JWK
`

// runKeys is `gatehouse keys`: it writes and checks the key pairs of
// auth.keyStore.provider: static.
func runKeys(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("alg", "ES256", "algorithm: ES256 (EC P-256) or RS256 (RSA 3072)")
	kid := fs.String("kid", "", "key id (the JWS kid); default: derived from the public key")
	switch sub {
	case "generate":
		out := fs.String("out", "", "directory to write the key files to (required)")
		if fs.Parse(args) != nil {
			return 2
		}
		if *out == "" {
			fmt.Fprintln(stderr, "gatehouse keys generate: --out DIR is required")
			return 2
		}
		return keysGenerate(*out, *kid, *alg, stdout, stderr)
	case "inspect":
		pub := fs.String("public-key-file", "", "SPKI PEM public key (required)")
		priv := fs.String("private-key-file", "", "PKCS#8 PEM private key")
		if fs.Parse(args) != nil {
			return 2
		}
		if *pub == "" {
			fmt.Fprintln(stderr, "gatehouse keys inspect: --public-key-file is required")
			return 2
		}
		return keysInspect(*pub, *priv, *kid, *alg, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, keysUsage)
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse keys: unknown subcommand %q\n\n%s", sub, keysUsage)
	return 2
}

func keysGenerate(dir, kid, alg string, stdout, stderr io.Writer) int {
	privPEM, pubPEM, err := identity.GenerateKeyPair(alg)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse keys generate: %v\n", err)
		return 2
	}
	if kid == "" {
		if kid, err = defaultKID(pubPEM); err != nil {
			fmt.Fprintf(stderr, "gatehouse keys generate: %v\n", err)
			return 1
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "gatehouse keys generate: %v\n", err)
		return 1
	}
	privFile, pubFile := filepath.Join(dir, kid+".key"), filepath.Join(dir, kid+".pub")
	// O_EXCL: never overwrite a key that may be in use.
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{privFile, privPEM, 0o600}, {pubFile, pubPEM, 0o644}} {
		fh, err := os.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse keys generate: %v\n", err)
			return 1
		}
		_, err = fh.Write(f.data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse keys generate: writing %s: %v\n", f.name, err)
			return 1
		}
	}
	fmt.Fprintf(stdout, `# wrote %s (private, keep secret) and %s (public)
auth:
  keyStore:
    provider: static
    static:
      keys:
        - keyId: %s
          algorithm: %s
          publicKeyFile: %s
          privateKeyFile: %s
`, privFile, pubFile, kid, alg, pubFile, privFile)
	return 0
}

func keysInspect(pubFile, privFile, kid, alg string, stdout, stderr io.Writer) int {
	if kid == "" {
		pubPEM, err := os.ReadFile(pubFile)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse keys inspect: %v\n", err)
			return 1
		}
		if kid, err = defaultKID(pubPEM); err != nil {
			fmt.Fprintf(stderr, "gatehouse keys inspect: %v\n", err)
			return 1
		}
	}
	k, err := identity.LoadStaticKey(kid, alg, pubFile, privFile)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse keys inspect: %v\n", err)
		return 1
	}
	jwk, err := identity.StaticJWK(k)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse keys inspect: %v\n", err)
		return 1
	}
	pair := "public key only"
	if k.Private != nil {
		pair = "private and public keys match"
	}
	fmt.Fprintf(stdout, "%s (%s)\n%s\n", pubFile, pair, jwk)
	return 0
}

// defaultKID names a key by its public key: the RFC 7638 JWK thumbprint
// (SHA-256, base64url without padding). It depends only on the key, not on
// how the PEM is laid out, so the same key always gets the same kid and a
// client can recompute it from the published JWK.
func defaultKID(pubPEM []byte) (string, error) {
	pub, err := identity.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		return "", err
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
