package oauth

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"

	"github.com/labstack/echo/v4"
)

// writeJSON writes v as JSON the way Express's res.json does (no HTML
// escaping, struct order), with no-store caching headers when noStore
// (token responses, RFC 6749 §5.1; Backstage sends none, §6.14).
func writeJSON(c echo.Context, status int, v any, noStore bool) error {
	body, err := encodeJSON(v)
	if err != nil {
		return err
	}
	return writeJSONBody(c, status, body, noStore)
}

// encodeJSON is JSON.stringify's compact form: struct order, no HTML
// escaping, no trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSONBody writes an already encoded JSON body (see writeJSON).
func writeJSONBody(c echo.Context, status int, body []byte, noStore bool) error {
	h := c.Response().Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if noStore {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(body)
	return err
}

// redirect is Express's res.redirect(url): 302 with a short body, HTML
// when the client prefers it (spec §2.0.5).
func redirect(c echo.Context, url string) error {
	h := c.Response().Header()
	h.Set("Location", url)
	h.Add("Vary", "Accept")
	if prefersHTML(c.Request()) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		c.Response().WriteHeader(http.StatusFound)
		_, err := c.Response().Write([]byte("<p>Found. Redirecting to " + html.EscapeString(url) + "</p>"))
		return err
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	c.Response().WriteHeader(http.StatusFound)
	_, err := c.Response().Write([]byte("Found. Redirecting to " + url))
	return err
}

// prefersHTML is a small stand-in for Express's req.accepts(["text",
// "html"]): HTML when Accept names text/html before any text/plain.
func prefersHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	i := bytes.Index([]byte(a), []byte("text/html"))
	if i < 0 {
		return false
	}
	j := bytes.Index([]byte(a), []byte("text/plain"))
	return j < 0 || i < j
}
