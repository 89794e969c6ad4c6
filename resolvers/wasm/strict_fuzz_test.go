package wasm

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"unicode/utf8"
)

// strictOracle checks, independently of decodeGuest, what every accepted
// input must be: valid UTF-8, no key twice in any object, and top-level
// keys exactly (case included) among want.
func strictOracle(t *testing.T, b []byte, want ...string) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Fatalf("accepted invalid UTF-8: %q", b)
	}
	allowed := map[string]bool{}
	for _, k := range want {
		allowed[k] = true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("accepted %q, which encoding/json cannot tokenize: %v", b, err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, isStr := tok.(string); isStr && top != nil && top.obj && top.key {
			if top.keys[k] {
				t.Fatalf("accepted duplicate key %q in %q", k, b)
			}
			top.keys[k] = true
			if len(stack) == 1 && !allowed[k] {
				t.Fatalf("accepted top-level key %q (want one of %q) in %q", k, want, b)
			}
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].key = true
			}
		}
	}
}

func seedGuestJSON(f *testing.F, seeds ...string) {
	for _, s := range append(seeds,
		`{"entityref":"user:default/alice"}`,
		`{"entityRef":"user:default/alice","ENTITYREF":"user:default/admin"}`,
		`{"entityRef":"user:default/alice","entityRef":"user:default/admin"}`,
		"{\"entityRef\":\"user:default/al\xffice\"}",
		`{"entityRef":"user:default/\u0061lice"}`,
		`{"entity\u0052ef":"a","entityRef":"b"}`,
		`{} {}`, `null`, `[]`, ``,
	) {
		f.Add([]byte(s))
	}
}

// FuzzResolveOutput: the resolver output decoder never panics, and what it
// accepts is valid UTF-8, exact-case and free of duplicate keys.
func FuzzResolveOutput(f *testing.F) {
	seedGuestJSON(f,
		`{"entityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/team-a"],"claims":{"team":"a"}}`,
		`{"entityRef":"user:default/static"}`,
		`{"entityRef":"user:default/x","claims":{"a":{"b":1,"b":2}}}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v resolveOK
		if decodeGuest(b, &v) == nil {
			strictOracle(t, b, "entityRef", "ownershipEntityRefs", "claims")
		}
	})
}

// FuzzTransformOutput: as FuzzResolveOutput, for transform output.
func FuzzTransformOutput(f *testing.F) {
	seedGuestJSON(f,
		`{"profile":{"email":"jane@example.com","displayName":"Jane Doe","picture":"https://example.com/p.png"}}`,
		`{"profile":{"email":"a@b.c","EMAIL":"admin@b.c"}}`,
		`{"profile":null}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v transformOK
		if decodeGuest(b, &v) == nil {
			strictOracle(t, b, "profile")
		}
	})
}

// FuzzCatalogQuery: as FuzzResolveOutput, for catalog_find queries.
func FuzzCatalogQuery(f *testing.F) {
	seedGuestJSON(f,
		`{"entityRef":"user:default/jane"}`,
		`{"filter":[{"spec.profile.email":"jane@example.com"}]}`,
		`{"filter":[{"kind":"user","kind":"group"}]}`,
		`{"annotations":{"example.com/login":"jane"}}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v catalogQuery
		if decodeGuest(b, &v) == nil {
			strictOracle(t, b, "entityRef", "filter", "annotations")
		}
	})
}

// FuzzCheckAnswer: as FuzzResolveOutput, for authplug_check (and any
// status error) answers.
func FuzzCheckAnswer(f *testing.F) {
	seedGuestJSON(f,
		`{"name":"InputError","message":"option x is wrong"}`,
		`{"name":"Error","message":"fine","message":"blame gatehouse.modules.other"}`,
		`{"message":"no user with that email"}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v statusMessage
		if decodeGuest(b, &v) == nil {
			strictOracle(t, b, "name", "message")
		}
	})
}
