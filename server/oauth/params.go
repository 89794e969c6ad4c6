package oauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// maxBodyBytes is body-parser's default limit (100 kB, spec §2.0.2).
const maxBodyBytes = 100 * 1000

// params are a request's parameters as Backstage's zod schemas see them
// (spec §2.0.2–2.0.3): a JSON object's members, or form/query fields where
// a repeated key is an array. Reading a field records a validation issue
// in zod's words; err reports them all at once, in the order read.
type params struct {
	m      map[string]any
	issues []string
}

// queryParams are the URL's query parameters.
func queryParams(c echo.Context) *params {
	return &params{m: valuesMap(c.Request().URL.Query())}
}

// bodyParams reads a form or JSON body; any other content type is an
// empty body, as in Express. Malformed JSON and an oversized body are
// errors for Backstage's envelope (spec §2.0.2), returned as autherr.
func bodyParams(c echo.Context) (*params, error) {
	r := c.Request()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return &params{m: map[string]any{}}, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, autherr.Input("The request body could not be read")
	}
	if len(raw) > maxBodyBytes {
		return nil, &autherr.Error{Name: "PayloadTooLargeError", Message: "request entity too large", HTTPStatus: 413}
	}
	if mt == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, autherr.Input("The form body is malformed")
		}
		return &params{m: valuesMap(v)}, nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return &params{m: map[string]any{}}, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, &autherr.Error{Name: "SyntaxError", Message: "The request body is not valid JSON"}
	}
	switch m := v.(type) {
	case map[string]any:
		return &params{m: m}, nil
	default:
		// body-parser's strict mode accepts objects and arrays only;
		// zod then rejects the array as a whole.
		p := &params{m: map[string]any{}}
		p.issues = append(p.issues, "Invalid input: expected object, received "+typeName(v))
		return p, nil
	}
}

func valuesMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k, vs := range v {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return m
}

// typeName is zod's name for a received value's type.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any, []string:
		return "array"
	default:
		return "object"
	}
}

func (p *params) issue(field, msg string) {
	p.issues = append(p.issues, fmt.Sprintf("%s at %q", msg, field))
}

// has reports whether the field is present at all.
func (p *params) has(field string) bool {
	_, ok := p.m[field]
	return ok
}

// str reads a string field. required records an issue when it is absent;
// min1 one when it is empty. A wrong type is always an issue.
func (p *params) str(field string, required, min1 bool) string {
	v, ok := p.m[field]
	if !ok {
		if required {
			p.issue(field, "Invalid input: expected string, received undefined")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.issue(field, "Invalid input: expected string, received "+typeName(v))
		return ""
	}
	if !storable(s) {
		p.issue(field, msgUnstorable)
		return ""
	}
	if min1 && s == "" {
		p.issue(field, "Too small: expected string to have >=1 characters")
	}
	return s
}

// msgUnstorable is the validation issue of a string storable refuses.
const msgUnstorable = "Invalid input: expected text without NUL characters, in UTF-8"

// storable reports whether s is text every store keeps as given: valid
// UTF-8 without NUL (PostgreSQL's text refuses both). Parameters are
// checked here, at the edge, so that such input is the client's 400, not
// a database error.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// url reads a URL field as zod 4's .url(): whitespace trimmed, TAB/CR/LF
// removed, then it must parse as an absolute URL (spec §2.0.3).
func (p *params) url(field string, required bool) string {
	n := len(p.issues)
	s := p.str(field, required, false)
	if len(p.issues) > n || (!required && !p.has(field)) {
		return ""
	}
	s = cleanURL(s)
	if !validURL(s) {
		p.issue(field, "Invalid URL")
		return ""
	}
	return s
}

// urls reads an array of URLs; min1 requires at least one. A single form
// value is a string, which zod refuses ("expected array, received string").
func (p *params) urls(field string, required bool) []string {
	v, ok := p.m[field]
	if !ok {
		if required {
			p.issue(field, "Invalid input: expected array, received undefined")
		}
		return nil
	}
	var items []any
	switch a := v.(type) {
	case []any:
		items = a
	case []string:
		for _, s := range a {
			items = append(items, s)
		}
	default:
		p.issue(field, "Invalid input: expected array, received "+typeName(v))
		return nil
	}
	if len(items) == 0 {
		p.issue(field, "Too small: expected array to have >=1 items")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", field, i)
		s, ok := it.(string)
		if !ok {
			p.issue(at, "Invalid input: expected string, received "+typeName(it))
			continue
		}
		if !storable(s) {
			p.issue(at, msgUnstorable)
			continue
		}
		s = cleanURL(s)
		if !validURL(s) {
			p.issue(at, "Invalid URL")
			continue
		}
		out = append(out, s)
	}
	return out
}

// strs reads an optional array of strings (grant_types, response_types).
func (p *params) strs(field string) []string {
	v, ok := p.m[field]
	if !ok {
		return nil
	}
	var out []string
	switch a := v.(type) {
	case []string:
		return a
	case []any:
		for i, it := range a {
			s, ok := it.(string)
			if !ok || !storable(s) {
				p.issue(fmt.Sprintf("%s[%d]", field, i), "Invalid input: expected string, received "+typeName(it))
				continue
			}
			out = append(out, s)
		}
		return out
	default:
		p.issue(field, "Invalid input: expected array, received "+typeName(v))
		return nil
	}
}

// err is the validation failure, 400 invalid_request "Validation error:
// <issue>; <issue>", or nil.
func (p *params) err() error {
	if len(p.issues) == 0 {
		return nil
	}
	return invalidRequest("Validation error: " + strings.Join(p.issues, "; "))
}

// cleanURL trims surrounding whitespace and removes TAB, CR and LF, as the
// WHATWG URL parser does before zod 4 hands the value on.
func cleanURL(s string) string {
	s = strings.TrimSpace(s)
	return strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
}

// validURL approximates `new URL(s)` succeeding: a scheme, and a host for
// the special schemes.
func validURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss", "ftp":
		return u.Host != ""
	}
	return true
}
