package server

import (
	"encoding/hex"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// A state Node's encodeOAuthState (auth-node) produced, kept so that the
// Go encoding stays byte-identical to Backstage's.
const nodeStateHex = "6e6f6e63653d7130596631734d397a71253242396225324633795962305a667725334425334426656e763d646576656c6f706d656e74266f726967696e3d687474702533412532462532466c6f63616c686f73742533413330303026666c6f773d706f7075702673636f70653d6f70656e69642b70726f66696c652b656d61696c"

func TestStateNodeVector(t *testing.T) {
	st := oauthState{Nonce: "q0Yf1sM9zq+9b/3yYb0Zfw==", Env: "development", Origin: "http://localhost:3000", Flow: "popup", Scope: "openid profile email"}
	if got := encodeState(st); got != nodeStateHex {
		t.Fatalf("encode mismatch:\n got %s\nwant %s", got, nodeStateHex)
	}
	back, err := decodeState(nodeStateHex)
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

// FuzzDecodeState: any state decodes without a panic, to an error that is
// a NotAllowedError, or to a state that encodes and decodes back to itself.
func FuzzDecodeState(f *testing.F) {
	f.Add(nodeStateHex)
	f.Add("25")
	f.Add(encodeState(oauthState{Nonce: "frlOeCTBg8R1XwT6I4aQqQ==", Env: "development", Origin: "https://backstage.example.com",
		RedirectURL: "https://backstage.example.com/catalog?x=1", Flow: "redirect", Scope: "openid profile email offline_access"}))
	f.Add(nodeStateHex + hex.EncodeToString([]byte("&origin=https%3A%2F%2Fevil.example")))
	f.Add(hex.EncodeToString([]byte("nonce=a%ZZ+b&env=d%C3%A9v&x=%FF&=")))
	f.Fuzz(func(t *testing.T, s string) {
		st, err := decodeState(s)
		if err != nil {
			if autherr.NameOf(err) != autherr.NameNotAllowed {
				t.Fatalf("%q: %v is not a NotAllowedError", s, err)
			}
			return
		}
		back, err := decodeState(encodeState(st))
		if err != nil || !reflect.DeepEqual(back, st) {
			t.Fatalf("%q: decoded %+v, re-encoded and decoded %+v (%v)", s, st, back, err)
		}
	})
}

// FuzzStateRoundTrip: every state with a nonce and an env survives
// encodeState then decodeState unchanged (field values are UTF-8, as they
// are in URLSearchParams).
func FuzzStateRoundTrip(f *testing.F) {
	f.Add("q0Yf1sM9zq+9b/3yYb0Zfw==", "development", "http://localhost:3000", "", "popup", "openid profile email", "", "")
	f.Add("a+b/c=", "prod", "", "http://x/?a=1&b=~!'()*", "redirect", "", "handle", "h 1")
	f.Add("n", "e", "https://évil.example", "javascript:alert(1)", "x&y=z", "a%20b", "=", "&")
	f.Fuzz(func(t *testing.T, nonce, env, origin, redirectURL, flow, scope, extraKey, extraValue string) {
		st := oauthState{Nonce: nonce, Env: env, Origin: origin, RedirectURL: redirectURL, Flow: flow, Scope: scope}
		switch extraKey {
		case "nonce", "env", "origin", "redirectUrl", "flow", "scope":
		default:
			if extraKey != "" || extraValue != "" {
				st.Extra = [][2]string{{extraKey, extraValue}}
			}
		}
		for _, v := range []string{nonce, env, origin, redirectURL, flow, scope, extraKey, extraValue} {
			if !utf8.ValidString(v) {
				return
			}
		}
		back, err := decodeState(encodeState(st))
		if nonce == "" || env == "" {
			if err == nil {
				t.Fatalf("%+v: decoded without nonce or env", st)
			}
			return
		}
		if err != nil || !reflect.DeepEqual(back, st) {
			t.Fatalf("round trip of %+v: %+v (%v)", st, back, err)
		}
	})
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
