package server

import (
	"encoding/hex"
	"testing"

	"github.com/gatehouse-auth/gatehouse/autherr"
)

// The test vector of spec §2.1, produced by Node's encodeOAuthState.
const specStateHex = "6e6f6e63653d7130596631734d397a71253242396225324633795962305a667725334425334426656e763d646576656c6f706d656e74266f726967696e3d687474702533412532462532466c6f63616c686f73742533413330303026666c6f773d706f7075702673636f70653d6f70656e69642b70726f66696c652b656d61696c"

func TestStateSpecVector(t *testing.T) {
	st := oauthState{Nonce: "q0Yf1sM9zq+9b/3yYb0Zfw==", Env: "development", Origin: "http://localhost:3000", Flow: "popup", Scope: "openid profile email"}
	if got := encodeState(st); got != specStateHex {
		t.Fatalf("encode mismatch:\n got %s\nwant %s", got, specStateHex)
	}
	back, err := decodeState(specStateHex)
	if err != nil {
		t.Fatal(err)
	}
	if back.Nonce != st.Nonce || back.Env != st.Env || back.Origin != st.Origin || back.Flow != st.Flow || back.Scope != st.Scope {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestStateRoundTripOddValues(t *testing.T) {
	st := oauthState{Nonce: "a+b/c=", Env: "prod", RedirectURL: "http://x/?a=1&b=~!'()*", Extra: [][2]string{{"handle", "h 1"}}}
	back, err := decodeState(encodeState(st))
	if err != nil {
		t.Fatal(err)
	}
	if back.RedirectURL != st.RedirectURL || len(back.Extra) != 1 || back.Extra[0] != st.Extra[0] {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestStateRejects(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "OAuth state is invalid, missing env"},
		{"zz", "OAuth state is invalid, missing env"},
		{encodeState(oauthState{Env: "development"}), "OAuth state is invalid, missing nonce"},
		{"6e6f6e63653d61zz", "OAuth state is invalid, missing env"}, // stops at the first bad pair
		// A state Gatehouse wrote has no duplicated field; one that has
		// could be checked on one value and used with another.
		{encodeState(oauthState{Nonce: "n", Env: "development", Origin: "http://localhost:3000"}) + hex.EncodeToString([]byte("&origin=https%3A%2F%2Fevil.example")), "OAuth state is invalid, duplicated field 'origin'"},
		{hex.EncodeToString([]byte("nonce=a&env=development&handle=1&handle=2")), "OAuth state is invalid, duplicated field 'handle'"},
	} {
		_, err := decodeState(tc.in)
		if err == nil || err.Error() != tc.msg || autherr.NameOf(err) != autherr.NameNotAllowed {
			t.Errorf("%q: got %v", tc.in, err)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(specStateHex)
	f.Add("25")
	f.Fuzz(func(t *testing.T, s string) { _, _ = decodeState(s) })
}

func BenchmarkStateEncode(b *testing.B) {
	st := oauthState{Nonce: "frlOeCTBg8R1XwT6I4aQqQ==", Env: "development", Origin: "https://backstage.example.com", Scope: "openid profile email offline_access"}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeState(st)
	}
}

func BenchmarkStateDecode(b *testing.B) {
	s := encodeState(oauthState{Nonce: "frlOeCTBg8R1XwT6I4aQqQ==", Env: "development", Origin: "https://backstage.example.com", Scope: "openid profile email offline_access"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeState(s); err != nil {
			b.Fatal(err)
		}
	}
}
