package authplug

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeInput decodes the host's input JSON into in, with the result
// encoding/json's Unmarshal gives for every input it accepts, and an error
// for every input it refuses.
//
// Why not encoding/json: it decodes by reflection, which in a std-Go guest
// is many small function calls per byte, and every guest function call
// also costs the host's stack accounting; this scanner decodes the one
// type the SDK receives with direct code. What it keeps from
// encoding/json, so that a module sees the same Input: field names match
// exactly, else case-insensitively; unknown fields are skipped (but must
// be valid JSON); null leaves a string, number or profile field as it was
// and sets a map to nil; a field given twice is decoded twice (a second
// object merges into the first map or profile); numbers in claims and
// options are float64, objects map[string]any, arrays []any; strings have
// invalid UTF-8 and lone surrogates replaced by U+FFFD; nesting deeper
// than 10000 is refused; "abi" takes only an integer literal; config is
// the value's bytes, copied.
func decodeInput(b []byte, in *Input) error {
	return decodeObject(b, func(d *decoder) error { return d.input(in) })
}

// catalogAnswer is catalog_find's answer JSON.
type catalogAnswer struct {
	User
	Error *answerError `json:"error"`
}

type answerError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// decodeCatalogAnswer decodes catalog_find's answer into a, with
// encoding/json's results, as decodeInput does for the input.
func decodeCatalogAnswer(b []byte, a *catalogAnswer) error {
	return decodeObject(b, func(d *decoder) error { return d.answer(a) })
}

// decodeObject decodes the top-level value of b with object, which is
// called at its '{': null decodes to nothing, any other value is refused.
func decodeObject(b []byte, object func(*decoder) error) error {
	d := decoder{b: b}
	d.ws()
	if d.pos >= len(d.b) {
		return d.fail("unexpected end of JSON input")
	}
	switch d.b[d.pos] {
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
	case '{':
		if err := object(&d); err != nil {
			return err
		}
	default:
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		return fmt.Errorf("the input is %s, want a JSON object", kindOf(d.b[start]))
	}
	return d.end()
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type decoder struct {
	b     []byte
	pos   int
	depth int
	// buf holds an unescaped string while it is converted.
	buf []byte
}

// syntaxError is a decoding error with the byte offset it occurred at.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.msg, e.offset) }

func (d *decoder) fail(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: d.pos}
}

func (d *decoder) unexpected(context string) error {
	if d.pos >= len(d.b) {
		return d.fail("unexpected end of JSON input")
	}
	return d.fail("invalid character %s %s", quoteChar(d.b[d.pos]), context)
}

func quoteChar(c byte) string {
	switch {
	case c >= utf8.RuneSelf:
		return fmt.Sprintf("byte 0x%02x", c)
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func (d *decoder) ws() {
	for d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// end accepts only whitespace after the top-level value.
func (d *decoder) end() error {
	d.ws()
	if d.pos < len(d.b) {
		return d.unexpected("after top-level value")
	}
	return nil
}

func (d *decoder) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.b) || d.b[d.pos] != lit[i] {
			return d.unexpected("in literal " + lit)
		}
		d.pos++
	}
	return nil
}

func (d *decoder) push() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail("exceeded max depth")
	}
	return nil
}

// object calls field for each key of the object at pos (which is '{');
// field is positioned at the value and must consume it.
func (d *decoder) object(field func(key []byte) error) error {
	if err := d.push(); err != nil {
		return err
	}
	d.pos++ // {
	d.ws()
	if d.pos < len(d.b) && d.b[d.pos] == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if d.pos >= len(d.b) || d.b[d.pos] != '"' {
			return d.unexpected("looking for beginning of object key string")
		}
		key, err := d.stringBytes()
		if err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.b) || d.b[d.pos] != ':' {
			return d.unexpected("after object key")
		}
		d.pos++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.b) {
			return d.unexpected("")
		}
		switch d.b[d.pos] {
		case ',':
			d.pos++
			d.ws()
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.unexpected("after object key:value pair")
		}
	}
}

// input decodes the Input object at pos.
func (d *decoder) input(in *Input) error {
	return d.object(func(key []byte) error {
		switch inputField(key) {
		case "abi":
			return d.intField("abi", &in.ABI)
		case "kind":
			return d.stringField("kind", &in.Kind)
		case "module":
			return d.stringField("module", &in.Module)
		case "provider":
			return d.stringField("provider", &in.Provider)
		case "profile":
			return d.profile(&in.Profile)
		case "idTokenClaims":
			return d.mapField("idTokenClaims", &in.IDTokenClaims)
		case "userinfo":
			return d.mapField("userinfo", &in.UserInfo)
		case "options":
			return d.mapField("options", &in.Options)
		case "config":
			start := d.pos
			if err := d.skip(); err != nil {
				return err
			}
			in.Config = append(in.Config[:0:0], d.b[start:d.pos]...)
			return nil
		}
		return d.skip()
	})
}

// answer decodes the catalogAnswer object at pos.
func (d *decoder) answer(a *catalogAnswer) error {
	return d.object(func(key []byte) error {
		switch matchField(key, answerFields) {
		case "entityRef":
			return d.stringField("entityRef", &a.EntityRef)
		case "ownershipEntityRefs":
			return d.stringsField("ownershipEntityRefs", &a.OwnershipEntityRefs)
		case "entity":
			return d.mapField("entity", &a.Entity)
		case "error":
			switch d.peek() {
			case 'n':
				a.Error = nil
				return d.literal("null")
			case '{':
			default:
				return d.wrongType("error", "an object")
			}
			if a.Error == nil {
				a.Error = &answerError{}
			}
			e := a.Error
			return d.object(func(key []byte) error {
				switch matchField(key, errorFields) {
				case "name":
					return d.stringField("error.name", &e.Name)
				case "message":
					return d.stringField("error.message", &e.Message)
				}
				return d.skip()
			})
		}
		return d.skip()
	})
}

// stringsField decodes a list of strings as encoding/json decodes into a
// []string: into the slice already there, null elements left as they are.
func (d *decoder) stringsField(field string, l *[]string) error {
	switch d.peek() {
	case 'n':
		*l = nil
		return d.literal("null")
	case '[':
	default:
		return d.wrongType(field, "an array")
	}
	out := (*l)[:0]
	err := d.array(func() error {
		if i := len(out); i < cap(out) {
			out = out[:i+1]
		} else {
			out = append(out, "")
		}
		return d.stringField(field, &out[len(out)-1])
	})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		out = []string{}
	}
	*l = out
	return nil
}

var (
	answerFields = []string{"entityRef", "ownershipEntityRefs", "entity", "error"}
	errorFields  = []string{"name", "message"}
)

var inputFields = []string{"abi", "kind", "module", "provider", "profile", "idTokenClaims", "userinfo", "options", "config"}

var profileFields = []string{"email", "displayName", "picture"}

// inputField and profileField name the field a key selects, as
// encoding/json does: the exact name, else one equal under Unicode case
// folding; "" is none.
func inputField(key []byte) string { return matchField(key, inputFields) }

func profileField(key []byte) string { return matchField(key, profileFields) }

func matchField(key []byte, names []string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if foldEqual(key, n) {
			return n
		}
	}
	return ""
}

// foldEqual reports whether key equals the name under Unicode simple
// case folding, which is how encoding/json matches a field name that is
// not exact (so the Kelvin sign matches k, and the long s matches s).
func foldEqual(key []byte, name string) bool { return bytes.EqualFold(key, []byte(name)) }

func (d *decoder) profile(p *Profile) error {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '{':
	default:
		return d.wrongType("profile", "an object")
	}
	return d.object(func(key []byte) error {
		switch profileField(key) {
		case "email":
			return d.stringField("profile.email", &p.Email)
		case "displayName":
			return d.stringField("profile.displayName", &p.DisplayName)
		case "picture":
			return d.stringField("profile.picture", &p.Picture)
		}
		return d.skip()
	})
}

func (d *decoder) peek() byte {
	if d.pos >= len(d.b) {
		return 0
	}
	return d.b[d.pos]
}

// wrongType reports a value of the wrong JSON type for a field; the value
// is first checked to be valid JSON, so a syntax error is reported as one.
func (d *decoder) wrongType(field, want string) error {
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	return &syntaxError{msg: fmt.Sprintf("field %q is %s, want %s", field, kindOf(d.b[start]), want), offset: start}
}

func (d *decoder) stringField(field string, s *string) error {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '"':
		v, err := d.string()
		if err != nil {
			return err
		}
		*s = v
		return nil
	}
	return d.wrongType(field, "a string")
}

func (d *decoder) intField(field string, n *int) error {
	switch c := d.peek(); {
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.pos
		if err := d.number(); err != nil {
			return err
		}
		v, err := strconv.ParseInt(string(d.b[start:d.pos]), 10, 0)
		if err != nil {
			return &syntaxError{msg: fmt.Sprintf("field %q is %s, want an integer", field, d.b[start:d.pos]), offset: start}
		}
		*n = int(v)
		return nil
	}
	return d.wrongType(field, "an integer")
}

func (d *decoder) mapField(field string, m *map[string]any) error {
	switch d.peek() {
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*m = nil
		return nil
	case '{':
	default:
		return d.wrongType(field, "an object")
	}
	if *m == nil {
		*m = map[string]any{}
	}
	return d.members(*m)
}

// members decodes the object at pos into m.
func (d *decoder) members(m map[string]any) error {
	return d.object(func(key []byte) error {
		k := string(key) // before value(), which may reuse key's buffer
		v, err := d.value()
		if err != nil {
			return err
		}
		m[k] = v
		return nil
	})
}

// value decodes any JSON value as encoding/json decodes into an any.
func (d *decoder) value() (any, error) {
	switch c := d.peek(); c {
	case '{':
		m := map[string]any{}
		if err := d.members(m); err != nil {
			return nil, err
		}
		return m, nil
	case '[':
		l := []any{}
		err := d.array(func() error {
			v, err := d.value()
			l = append(l, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		return l, nil
	case '"':
		return d.string()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return nil, d.unexpected("looking for beginning of value")
		}
		start := d.pos
		if err := d.number(); err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(d.b[start:d.pos]), 64)
		if err != nil {
			return nil, &syntaxError{msg: fmt.Sprintf("number %s does not fit a float64", d.b[start:d.pos]), offset: start}
		}
		return f, nil
	}
}

// array calls elem for each element of the array at pos (which is '[');
// elem is positioned at the element and must consume it.
func (d *decoder) array(elem func() error) error {
	if err := d.push(); err != nil {
		return err
	}
	d.pos++ // [
	d.ws()
	if d.pos < len(d.b) && d.b[d.pos] == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.b) {
			return d.unexpected("")
		}
		switch d.b[d.pos] {
		case ',':
			d.pos++
			d.ws()
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.unexpected("after array element")
		}
	}
}

// skip checks and passes over any JSON value.
func (d *decoder) skip() error {
	switch c := d.peek(); c {
	case '{':
		return d.object(func([]byte) error { return d.skip() })
	case '[':
		return d.array(d.skip)
	case '"':
		_, err := d.stringBytes()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return d.unexpected("looking for beginning of value")
		}
		return d.number()
	}
}

// number passes over a number with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		return d.unexpected("in numeric literal")
	}
	if d.peek() == '.' {
		d.pos++
		if c := d.peek(); c < '0' || c > '9' {
			return d.unexpected("after decimal point in numeric literal")
		}
		d.digits()
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if c := d.peek(); c < '0' || c > '9' {
			return d.unexpected("in exponent of numeric literal")
		}
		d.digits()
	}
	return nil
}

func (d *decoder) digits() {
	for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
		d.pos++
	}
}

func (d *decoder) string() (string, error) {
	b, err := d.stringBytes()
	return string(b), err
}

// stringBytes passes over the string at pos (which is '"') and returns
// its value, valid until the next call: the input's own bytes when the
// string has no escape and is valid UTF-8, else d.buf.
func (d *decoder) stringBytes() ([]byte, error) {
	d.pos++ // "
	start := d.pos
	for d.pos < len(d.b) {
		c := d.b[d.pos]
		switch {
		case c == '"':
			s := d.b[start:d.pos]
			d.pos++
			return s, nil
		case c == '\\':
			return d.slowString(start)
		case c >= utf8.RuneSelf:
			// Valid UTF-8 stays as it is; anything else is rewritten.
			r, size := utf8.DecodeRune(d.b[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return d.slowString(start)
			}
			d.pos += size
			continue
		case c < ' ':
			return nil, d.fail("invalid character %s in string literal", quoteChar(c))
		}
		d.pos++
	}
	return nil, d.fail("unexpected end of JSON input")
}

var errEOF = errors.New("unexpected end of JSON input")

// slowString unescapes a string that has escapes or non-ASCII bytes, from
// start (just after the quote), as encoding/json does.
func (d *decoder) slowString(start int) ([]byte, error) {
	d.buf = append(d.buf[:0], d.b[start:d.pos]...)
	for d.pos < len(d.b) {
		c := d.b[d.pos]
		switch {
		case c == '"':
			d.pos++
			return d.buf, nil
		case c < ' ':
			return nil, d.fail("invalid character %s in string literal", quoteChar(c))
		case c == '\\':
			d.pos++
			if d.pos >= len(d.b) {
				return nil, d.fail("%v", errEOF)
			}
			switch e := d.b[d.pos]; e {
			case '"', '\\', '/':
				d.buf = append(d.buf, e)
				d.pos++
			case 'b':
				d.buf = append(d.buf, '\b')
				d.pos++
			case 'f':
				d.buf = append(d.buf, '\f')
				d.pos++
			case 'n':
				d.buf = append(d.buf, '\n')
				d.pos++
			case 'r':
				d.buf = append(d.buf, '\r')
				d.pos++
			case 't':
				d.buf = append(d.buf, '\t')
				d.pos++
			case 'u':
				d.pos++
				r, err := d.hex4()
				if err != nil {
					return nil, err
				}
				if utf16.IsSurrogate(r) {
					first := r
					r = utf8.RuneError
					// A pair is two escapes; anything else leaves the
					// first one alone, as U+FFFD.
					if d.pos+1 < len(d.b) && d.b[d.pos] == '\\' && d.b[d.pos+1] == 'u' {
						save := d.pos
						d.pos += 2
						r2, err := d.hex4()
						if err != nil {
							return nil, err
						}
						if dec := utf16.DecodeRune(first, r2); dec != utf8.RuneError {
							r = dec
						} else {
							d.pos = save
						}
					}
				}
				d.buf = utf8.AppendRune(d.buf, r)
			default:
				return nil, d.fail("invalid character %s in string escape code", quoteChar(e))
			}
		case c < utf8.RuneSelf:
			d.buf = append(d.buf, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.b[d.pos:])
			d.pos += size
			d.buf = utf8.AppendRune(d.buf, r) // RuneError for invalid UTF-8
		}
	}
	return nil, d.fail("%v", errEOF)
}

// hex4 reads the four hex digits of a \u escape.
func (d *decoder) hex4() (rune, error) {
	var r rune
	for range 4 {
		if d.pos >= len(d.b) {
			return 0, d.fail("%v", errEOF)
		}
		v, ok := parseHex4(d.b[d.pos : d.pos+1])
		if !ok {
			return 0, d.fail("invalid character %s in \\u hexadecimal character escape", quoteChar(d.b[d.pos]))
		}
		r = r*16 + v
		d.pos++
	}
	return r, nil
}

func parseHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}
