package wasm

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeGuest decodes JSON a guest produced (an output, a catalog_find
// query, an authplug_check answer) into v, strictly, so that what the host
// acts on is exactly what the guest wrote: keys match the field names
// exactly (a misspelt or differently-cased "entityref" is an unknown key),
// a key appears at most once per object (the guest cannot write one
// identity and have the host read another), strings are valid UTF-8 (no
// U+FFFD substituted into a subject), unknown keys and trailing data are
// refused. These are the defaults of github.com/go-json-experiment/json
// (encoding/json/v2 is still behind GOEXPERIMENT in Go 1.26) plus
// RejectUnknownMembers. The error says what was wrong, without Go types.
func decodeGuest(b []byte, v any) error {
	if !utf8.Valid(b) {
		// Checked on the raw bytes too: invalid UTF-8 outside a string is
		// a syntax error anyway, inside one it must never be replaced.
		return errors.New("not valid UTF-8")
	}
	err := json.Unmarshal(b, v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	return describeJSONError(err)
}

func describeJSONError(err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return fmt.Errorf("duplicate key %q%s", lastToken(syn.JSONPointer, err), within(syn.JSONPointer.Parent()))
		}
		return fmt.Errorf("invalid JSON: %s", trimPrefix(syn.Err.Error()))
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		if errors.Is(sem.Err, json.ErrUnknownName) {
			return fmt.Errorf("unknown key %q%s", sem.JSONPointer.LastToken(), within(sem.JSONPointer.Parent()))
		}
		what := "a JSON value"
		if k, ok := kindNames[sem.JSONKind]; ok {
			what = "a JSON " + k
		}
		if sem.Err != nil {
			return fmt.Errorf("%s%s is not accepted: %s", what, within(sem.JSONPointer), trimPrefix(sem.Err.Error()))
		}
		return fmt.Errorf("%s%s is not of the expected type", what, within(sem.JSONPointer))
	}
	return fmt.Errorf("invalid JSON: %s", trimPrefix(err.Error()))
}

// lastToken is the duplicated name: the pointer's last token, or, when the
// library did not point at it, the name quoted in its message.
func lastToken(p jsontext.Pointer, err error) string {
	if p != "" {
		return p.LastToken()
	}
	s := err.Error()
	if i := strings.Index(s, `name "`); i >= 0 {
		rest := s[i+len(`name "`):]
		if j := strings.Index(rest, `"`); j >= 0 {
			return rest[:j]
		}
	}
	return "?"
}

var kindNames = map[jsontext.Kind]string{
	'n': "null", 't': "boolean", 'f': "boolean", '"': "string", '0': "number", '{': "object", '[': "array",
}

func within(p jsontext.Pointer) string {
	if p == "" {
		return ""
	}
	return fmt.Sprintf(" in %q", string(p))
}

func trimPrefix(s string) string {
	s = strings.TrimPrefix(s, "jsontext: ")
	return strings.TrimPrefix(s, "json: ")
}
