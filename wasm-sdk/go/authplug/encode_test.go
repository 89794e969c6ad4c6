package authplug

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

var stringCases = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"caf\u00e9 \u4e16\u754c \U0001F600", "line\u2028sep\u2029", "bad \xff\xfe utf8 \xe2\x82", "\xed\xa0\x80 surrogate bytes",
}

// TestEncodeMatchesEncodingJSON checks that the SDK writes the bytes
// json.Marshal wrote before.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	same := func(got []byte, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	for _, s := range stringCases {
		same(appendString(nil, s), s)
		same(encodeError("NotFoundError", s), struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		}{"NotFoundError", s})
		for _, p := range []Profile{{}, {Email: s}, {DisplayName: s}, {Email: "e", Picture: s}, {Email: s, DisplayName: s, Picture: s}} {
			same(encodeTransform(p), struct {
				Profile Profile `json:"profile"`
			}{p})
		}
		for _, q := range []Query{{}, {EntityRef: s}, {Filter: []map[string]string{{"spec.profile.email": s}, {}, nil, {"b": "1", "a": s}}}, {Annotations: map[string]string{s: s, "z": "1", "a": "2"}}, {EntityRef: "x", Filter: []map[string]string{{"k": "v"}}, Annotations: map[string]string{"a": "b"}}} {
			same(encodeQuery(q), q)
		}
	}
	for _, r := range []Result{{}, {EntityRef: "user:default/jane"}, {EntityRef: "user:default/<j>", OwnershipEntityRefs: []string{"user:default/<j>", "group:default/a&b"}},
		{EntityRef: "u", OwnershipEntityRefs: []string{}, Claims: map[string]any{}}, {EntityRef: "u", Claims: map[string]any{"b": []any{1.5, "x", nil}, "a": map[string]any{"<": true}}}} {
		got, err := encodeResult(r)
		if err != nil {
			t.Fatal(err)
		}
		same(got, r)
	}
	if _, err := encodeResult(Result{EntityRef: "u", Claims: map[string]any{"n": math.NaN()}}); err == nil {
		t.Error("a NaN claim encoded")
	}
}

var answerCases = []string{
	`{"entityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/a"],"entity":{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"jane","annotations":{"a":"b"}},"spec":{"profile":{"email":"jane@example.com"},"memberOf":["a"]}}}`,
	`{"error":{"name":"NotFoundError","message":"User not found"}}`,
	`{"error":{"name":"ConflictError","message":"x"},"error":null}`,
	`{"error":{"name":"a"},"error":{"message":"b"}}`,
	`{"ownershipEntityRefs":[]}`, `{"ownershipEntityRefs":null}`, `{"ownershipEntityRefs":["a",null,"b"]}`,
	`{"ownershipEntityRefs":["a","b"],"ownershipEntityRefs":["c"]}`,
	`{"EntityRef":"folded","ENTITY":{}}`, `null`, `{}`,
	`{"ownershipEntityRefs":[1]}`, `{"ownershipEntityRefs":{}}`, `{"error":"x"}`, `{"error":{"name":1}}`, `{"entity":[]}`, `[]`, `{`,
}

func checkAnswerSameAsEncodingJSON(t *testing.T, raw []byte) {
	t.Helper()
	var got, want catalogAnswer
	gotErr := decodeCatalogAnswer(raw, &got)
	wantErr := json.Unmarshal(raw, &want)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("%q: decodeCatalogAnswer error %v, encoding/json error %v", raw, gotErr, wantErr)
	case gotErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\ndecodeCatalogAnswer %#v\nencoding/json       %#v", raw, got, want)
	}
}

func TestDecodeCatalogAnswerMatchesEncodingJSON(t *testing.T) {
	for _, c := range answerCases {
		checkAnswerSameAsEncodingJSON(t, []byte(c))
	}
}

// FuzzDecodeCatalogAnswer checks the catalog answer decoder against
// encoding/json on any bytes.
func FuzzDecodeCatalogAnswer(f *testing.F) {
	for _, c := range answerCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkAnswerSameAsEncodingJSON(t, raw) })
}

// FuzzAppendString checks the SDK's string encoding against json.Marshal.
func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
