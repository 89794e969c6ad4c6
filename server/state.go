package server

import (
	"encoding/hex"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// oauthState is Backstage's OAuth state (auth-node oauth/state.ts). Fields
// keep insertion order on the wire: nonce, env, origin, redirectUrl, flow,
// scope, then any unknown fields that came in, so a state survives a round
// trip through Gatehouse unchanged.
type oauthState struct {
	Nonce       string
	Env         string
	Origin      string
	RedirectURL string
	Flow        string
	Scope       string
	// Extra holds unknown fields in arrival order.
	Extra [][2]string
}

// encodeState returns lower-case hex of the URLSearchParams serialisation,
// byte-for-byte what Node's encodeOAuthState produces.
func encodeState(s oauthState) string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		formEncode(&b, k)
		b.WriteByte('=')
		formEncode(&b, v)
	}
	add("nonce", s.Nonce)
	add("env", s.Env)
	if s.Origin != "" {
		add("origin", s.Origin)
	}
	if s.RedirectURL != "" {
		add("redirectUrl", s.RedirectURL)
	}
	if s.Flow != "" {
		add("flow", s.Flow)
	}
	if s.Scope != "" {
		add("scope", s.Scope)
	}
	for _, kv := range s.Extra {
		add(kv[0], kv[1])
	}
	return hex.EncodeToString([]byte(b.String()))
}

// decodeState reverses encodeState. Like Node's Buffer.from(s, 'hex') it
// stops at the first invalid hex pair, so garbage yields a state without
// env, which is then rejected with Backstage's message.
func decodeState(s string) (oauthState, error) {
	raw := make([]byte, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			break
		}
		raw = append(raw, hi<<4|lo)
	}
	var st oauthState
	seen := map[string]bool{}
	for _, pair := range strings.Split(string(raw), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = formDecode(k), formDecode(v)
		// Backstage keeps the last of duplicated fields
		// (Object.fromEntries). Gatehouse refuses them: a state it wrote
		// never has any, and with two origins the one checked and the one
		// used could differ.
		if seen[k] {
			return oauthState{}, autherr.NotAllowed("OAuth state is invalid, duplicated field '%s'", truncate(k, 64))
		}
		seen[k] = true
		st.set(k, v)
	}
	if st.Env == "" {
		return st, autherr.NotAllowed("OAuth state is invalid, missing env")
	}
	if st.Nonce == "" {
		return st, autherr.NotAllowed("OAuth state is invalid, missing nonce")
	}
	return st, nil
}

func (s *oauthState) set(k, v string) {
	switch k {
	case "nonce":
		s.Nonce = v
	case "env":
		s.Env = v
	case "origin":
		s.Origin = v
	case "redirectUrl":
		s.RedirectURL = v
	case "flow":
		s.Flow = v
	case "scope":
		s.Scope = v
	default:
		s.Extra = append(s.Extra, [2]string{k, v})
	}
}

// stateParam returns the request's one OAuth state: from the query, or
// from a form_post body. A request carrying several (in the query, the
// body, or both) is refused, so that the state checked is always the
// state used.
func stateParam(r *http.Request) (string, error) {
	states := r.URL.Query()["state"]
	if r.Method == http.MethodPost {
		// ParseMultipartForm, as PostFormValue does; errors leave PostForm
		// empty, and the callback then fails for lack of a state or code.
		_ = r.ParseMultipartForm(32 << 20)
		states = append(states, r.PostForm["state"]...)
	}
	switch len(states) {
	case 0:
		return "", nil
	case 1:
		return states[0], nil
	}
	return "", autherr.NotAllowed("Auth response has more than one state parameter")
}

// truncate cuts s to at most n bytes of valid UTF-8, for messages that
// quote request input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// formEncode is the WHATWG application/x-www-form-urlencoded byte serialiser
// used by URLSearchParams: only A-Za-z0-9*-._ stay raw and space becomes '+'.
func formEncode(b *strings.Builder, s string) {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
}

// formDecode is the WHATWG percent-decoder with '+' as space; malformed
// escapes are kept literally, as URLSearchParams does. The result is
// always valid UTF-8 (invalid bytes, raw or escaped, become U+FFFD), so a
// decoded state encodes and decodes back to itself.
func formDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			out = append(out, ' ')
			continue
		}
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}
