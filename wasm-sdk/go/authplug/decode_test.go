package authplug

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// inputCases are host inputs (as resolvers/wasm writes them) and edge
// cases of the JSON grammar and of encoding/json's decoding rules.
var inputCases = []string{
	`{"abi":1,"kind":"signInResolver","module":"team","provider":"vcfsso","profile":{"email":"alice@example.com","displayName":"Alice Example"},"idTokenClaims":{"acct":"alice@example.com","name":"Alice Example","sub":"123456","user_name":"alice"},"userinfo":{"acct":"alice@example.com","group_names":["team-a","platform"]},"options":null,"config":{"resolver":"emailLocalPartMatchingUserEntityName"}}`,
	`{"abi":1,"kind":"profileTransform","module":"m","provider":"oidc","profile":{},"idTokenClaims":null,"userinfo":null,"options":{"allowedDomains":["a.com"],"x":1.5e3,"y":-0,"z":true,"n":null,"o":{"p":[[],{}]}},"config":{}}`,
	`{"abi":1,"kind":"signInResolver","module":"m","options":{"dangerouslyAllowSignInWithoutUserInCatalog":true},"config":{}}`,
	`{}`, `null`, ` {"abi" : 1 } `, "\t\n\r{\"kind\":\"k\"}\n",
	`{"Kind":"upper","MODULE":"m","PROFILE":{"EMAIL":"e","DisplayName":"d","PICTURE":"p"}}`,
	"{\"\u212aind\":\"kelvin\",\"module\":\"m\"}",          // Kelvin sign folds to K
	"{\"prov\u0131der\":\"dotless\",\"\u017fnot\":1}",      // dotless i is not i; long s folds to s
	`{"kind":"a","kind":"b"}`,                              // last wins
	`{"userinfo":{"a":1},"userinfo":{"b":2}}`,              // second object merges
	`{"userinfo":{"a":1},"userinfo":null}`,                 // null clears a map
	`{"profile":{"email":"e"},"profile":{"picture":"p"}}`,  // profile merges
	`{"profile":{"email":"e"},"profile":null,"kind":null}`, // null leaves struct and string
	`{"abi":7,"abi":null}`,
	`{"abi":-0}`, `{"abi":9223372036854775807}`,
	`{"config":null}`, `{"config":"s"}`, `{"config":[1, 2 ,{"a" : "b"}]}`, `{"config": 1e5 }`,
	`{"\u006bind":"escaped key"}`,
	`{"kind":"\"\\\/\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}`,
	`{"kind":"lone \ud800 high","module":"lone \udc00 low","provider":"\ud800\u0041 pair broken"}`,
	`{"kind":"\ud83d\ude00\ud83d"}`,
	"{\"kind\":\"bad utf8 \xff\xfe end\",\"userinfo\":{\"k\xc3\":\"v\xe2\x82\"}}",
	"{\"kind\":\"caf\u00e9 \u4e16\u754c\"}",
	`{"userinfo":{"n":1.7976931348623157e308,"m":5e-324,"s":-12.5E-3,"i":12345678901234567890}}`,
	`{"unknown":{"deep":[1,2,{"x":null}]},"other":"x","kind":"k"}`,
	`{"idTokenClaims":{"a":{"b":{"c":[true,false,null,"s",0]}}}}`,
	`{"userinfo":{"dup":1,"dup":2}}`,
	`{"options":{}}`, `{"options":{"l":[]}}`,
	// Invalid.
	``, ` `, `{`, `}`, `{"abi":}`, `{"abi":1,}`, `{"abi" 1}`, `{abi:1}`, `{"abi":1}x`, `{"abi":1}{}`,
	`[]`, `"s"`, `1`, `true`, `nul`, `{"kind":nul}`, `{"kind":tru}`,
	`{"abi":"1"}`, `{"abi":1.0}`, `{"abi":1e2}`, `{"abi":9223372036854775808}`, `{"abi":true}`,
	`{"kind":1}`, `{"kind":{}}`, `{"profile":"x"}`, `{"profile":[]}`, `{"profile":{"email":1}}`,
	`{"userinfo":"x"}`, `{"userinfo":[]}`, `{"userinfo":{"n":1e400}}`, `{"options":{"a":01}}`,
	`{"kind":"a` + "\x01" + `b"}`, `{"kind":"\x"}`, `{"kind":"\u12"}`, `{"kind":"\u12G4"}`, `{"kind":"\'"}`,
	`{"kind":"open`, `{"x":[1,2}`, `{"x":[1 2]}`, `{"x":-}`, `{"x":1.}`, `{"x":1e}`, `{"x":.5}`, `{"x":+1}`,
	`{"x":"\ud800\u12"}`, "{\"x\":1}\x00",
	strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
	`{"x":` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 9999) + `}`,
	`{"x":` + strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000) + `}`,
}

// checkSameAsEncodingJSON decodes raw with decodeInput and with
// encoding/json, the SDK's decoder before: both must refuse it, or both
// accept it with equal results.
func checkSameAsEncodingJSON(t *testing.T, raw []byte) {
	t.Helper()
	var got, want Input
	gotErr := decodeInput(raw, &got)
	wantErr := json.Unmarshal(raw, &want)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("%q: decodeInput error %v, encoding/json error %v", raw, gotErr, wantErr)
	case gotErr != nil:
		if gotErr.Error() == "" {
			t.Fatalf("%q: empty error", raw)
		}
	case !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\ndecodeInput  %#v\nencoding/json %#v", raw, got, want)
	}
}

func TestDecodeInputMatchesEncodingJSON(t *testing.T) {
	for _, c := range inputCases {
		checkSameAsEncodingJSON(t, []byte(c))
	}
}

func TestDecodeInputErrorsSayWhere(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"abi":"1"}`, `field "abi" is a string, want an integer (at byte 7)`},
		{`{"userinfo":[]}`, `field "userinfo" is an array, want an object (at byte 12)`},
		{`{"kind":"a`, `unexpected end of JSON input (at byte 10)`},
		{`{"abi":1}x`, `invalid character 'x' after top-level value (at byte 9)`},
		{`[]`, `the input is an array, want a JSON object`},
	} {
		var in Input
		if err := decodeInput([]byte(c.in), &in); err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %s", c.in, err, c.want)
		}
	}
}

// FuzzDecodeInput checks the SDK's input decoder against encoding/json on
// any bytes: the same acceptance, the same Input, and never a panic.
func FuzzDecodeInput(f *testing.F) {
	for _, c := range inputCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkSameAsEncodingJSON(t, raw) })
}

var benchInputJSON = []byte(inputCases[0])

// BenchmarkDecodeInput compares the SDK's input decoder with
// encoding/json on a typical host input (natively; in a wasip1 guest the
// difference is larger, as each guest function call costs more).
func BenchmarkDecodeInput(b *testing.B) {
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in Input
			if err := decodeInput(benchInputJSON, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in Input
			if err := json.Unmarshal(benchInputJSON, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
