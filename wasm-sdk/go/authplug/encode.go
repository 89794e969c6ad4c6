package authplug

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// The SDK's own JSON (a result, a profile, an error, a catalog query) is
// written directly rather than by encoding/json's reflection, for the
// reason decodeInput gives; the bytes are the ones json.Marshal writes
// (TestEncodeMatchesEncodingJSON). Claims, whose values can be anything,
// still go through json.Marshal.

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes it: HTML characters, U+2028 and U+2029 as \u escapes, invalid
// UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendStrings(b []byte, l []string) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendStringMap appends m with its keys sorted, as json.Marshal does.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// encodeResult is json.Marshal(r).
func encodeResult(r Result) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, `{"entityRef":`...)
	b = appendString(b, r.EntityRef)
	if len(r.OwnershipEntityRefs) > 0 {
		b = append(b, `,"ownershipEntityRefs":`...)
		b = appendStrings(b, r.OwnershipEntityRefs)
	}
	if len(r.Claims) > 0 {
		c, err := json.Marshal(r.Claims)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"claims":`...)
		b = append(b, c...)
	}
	return append(b, '}'), nil
}

// appendProfile appends json.Marshal(p).
func appendProfile(b []byte, p Profile) []byte {
	b = append(b, '{')
	sep := false
	for _, f := range [...]struct{ name, v string }{{"email", p.Email}, {"displayName", p.DisplayName}, {"picture", p.Picture}} {
		if f.v == "" {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = appendString(b, f.name)
		b = append(b, ':')
		b = appendString(b, f.v)
	}
	return append(b, '}')
}

// encodeTransform is the transform's output, {"profile": p}.
func encodeTransform(p Profile) []byte {
	return append(appendProfile(append(make([]byte, 0, 96), `{"profile":`...), p), '}')
}

// encodeError is the not_found/error output, {"name": …, "message": …}.
func encodeError(name, message string) []byte {
	b := append(make([]byte, 0, 32+len(message)), `{"name":`...)
	b = appendString(b, name)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	return append(b, '}')
}

// encodeQuery is json.Marshal(q).
func encodeQuery(q Query) []byte {
	b := append(make([]byte, 0, 64), '{')
	sep := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	if q.EntityRef != "" {
		b = append(b, `"entityRef":`...)
		b = appendString(b, q.EntityRef)
	}
	if len(q.Filter) > 0 {
		sep()
		b = append(b, `"filter":[`...)
		for i, m := range q.Filter {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStringMap(b, m)
		}
		b = append(b, ']')
	}
	if len(q.Annotations) > 0 {
		sep()
		b = append(b, `"annotations":`...)
		b = appendStringMap(b, q.Annotations)
	}
	return append(b, '}')
}
