package identity

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// jsonBuf builds the JSON of a token's header or payload. Its values are
// encoded as JavaScript's JSON.stringify encodes what tokens hold: no HTML
// escaping, no trailing newline. One encoder serves the whole buffer, made
// on the first value that needs it; most values (entity refs, the issuer
// URL, numbers) need none.
type jsonBuf struct {
	bytes.Buffer
	enc *json.Encoder
}

// value appends v as JSON.
func (b *jsonBuf) value(v any) error {
	switch v := v.(type) {
	case string:
		b.string(v)
		return nil
	case []string:
		if v == nil {
			b.WriteString("null")
			return nil
		}
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.string(s)
		}
		b.WriteByte(']')
		return nil
	}
	if b.enc == nil {
		b.enc = json.NewEncoder(&b.Buffer)
		b.enc.SetEscapeHTML(false)
	}
	if err := b.enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// string appends s as a JSON string: as is between quotes when no byte
// needs escaping (printable ASCII but '"' and '\\'), else through
// encoding/json, whose escaping of the rest (control characters, invalid
// UTF-8, U+2028 and U+2029) tokens have always had.
func (b *jsonBuf) string(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			if b.enc == nil {
				b.enc = json.NewEncoder(&b.Buffer)
				b.enc.SetEscapeHTML(false)
			}
			_ = b.enc.Encode(s) // a string always encodes
			b.Truncate(b.Len() - 1)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// int appends n in decimal.
func (b *jsonBuf) int(n int64) {
	b.Write(strconv.AppendInt(b.AvailableBuffer(), n, 10))
}
