package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

// stringify is how tokens encoded values before jsonBuf: encoding/json
// without HTML escaping or the trailing newline.
func stringify(t testing.TB, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

var jsonBufStrings = []string{
	"", "user:default/alice", "https://backstage.example.com/api/auth", `quote " and \ backslash`,
	"<script>&amp;</script>", "tab\tnew\nline\r\b\f\x00\x1f\x7f", "ünïcödé", "\u2028\u2029", "bad \xff utf-8", "😀",
}

// TestJSONBufMatchesEncodingJSON: every value encodes to the bytes
// encoding/json gave, so tokens are unchanged byte for byte.
func TestJSONBufMatchesEncodingJSON(t *testing.T) {
	values := []any{jsonBufStrings, []string{}, []string(nil), 42, 3.5, true, nil, map[string]any{"b": 1, "a": []any{"x", 2}}}
	for _, s := range jsonBufStrings {
		values = append(values, s)
	}
	for _, v := range values {
		var b jsonBuf
		if err := b.value(v); err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if want := stringify(t, v); b.String() != want {
			t.Errorf("%#v: got %s, want %s", v, b.String(), want)
		}
	}
	var b jsonBuf
	if b.value(func() {}) == nil {
		t.Error("a func encoded")
	}
}

func FuzzJSONBufString(f *testing.F) {
	for _, s := range jsonBufStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b jsonBuf
		b.WriteString("x")
		b.string(s)
		if want := "x" + stringify(t, s); b.String() != want {
			t.Errorf("%q: got %s, want %s", s, b.String(), want)
		}
	})
}

// TestRawECDSASignature: the r||s written from SignASN1's DER verify, and
// are the DER's integers left-padded to 32 bytes (short r and s happen).
func TestRawECDSASignature(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("input"))
	for range 200 {
		der, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
		if err != nil {
			t.Fatal(err)
		}
		var sig [64]byte
		if !rawECDSASignature(der, &sig) {
			t.Fatalf("%x did not parse", der)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&priv.PublicKey, h[:], r, s) {
			t.Fatalf("%x: r||s %x does not verify", der, sig)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01}, append(make([]byte, 0), 0x31, 0x00)} {
		var sig [64]byte
		if rawECDSASignature(bad, &sig) {
			t.Errorf("%x parsed", bad)
		}
	}
}

// BenchmarkUserTokenSignatures answers issue 15's question of why the
// uip signature seemed to cost twice the token's: both are one ES256
// signature over a short input, and cost the same here.
func BenchmarkUserTokenSignatures(b *testing.B) {
	key, err := newSigningKey(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	iat := time.Now().Unix()
	b.Run("uip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := limitedUserProof(key, "user:default/alice", iat, iat+3600); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("token", func(b *testing.B) {
		uip, _ := limitedUserProof(key, "user:default/alice", iat, iat+3600)
		var p jsonBuf
		p.WriteString(`{"iss":"https://backstage.example.com/api/auth","sub":"user:default/alice","ent":["user:default/alice"]`)
		if err := p.tail(Audience, iat, iat+3600, uip); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signUserToken(key, p.Bytes(), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
