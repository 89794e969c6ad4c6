package cimd

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ErrInvalidDocument is wrapped by every error of [ParseDocument]; its
// text is Backstage's message for a body that is not a valid document.
var ErrInvalidDocument = errors.New("invalid client metadata document")

// FieldError is a document validation failure naming the member at fault.
// It wraps [ErrInvalidDocument].
type FieldError struct {
	// Field is the JSON member, e.g. "redirect_uris" or "redirect_uris[1]".
	Field string
	// Reason says what is wrong, without echoing long or secret values.
	Reason string
}

// Error returns "invalid client metadata document: <field>: <reason>".
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", ErrInvalidDocument, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidDocument) hold.
func (e *FieldError) Unwrap() error { return ErrInvalidDocument }

// The only values a CIMD client may declare: the authorization server
// issues codes and refresh tokens, to public clients only.
const (
	// GrantAuthorizationCode is the grant_types value of the code flow.
	GrantAuthorizationCode = "authorization_code"
	// GrantRefreshToken is the grant_types value that allows refresh tokens.
	GrantRefreshToken = "refresh_token"
	// ResponseTypeCode is the only response_types value allowed.
	ResponseTypeCode = "code"
	// AuthMethodNone is the only token_endpoint_auth_method allowed.
	AuthMethodNone = "none"
)

// Client is a validated CIMD client: a public client (no secret) whose
// document named it by its own URL. Every field has been checked by
// [ParseDocument]; slices are never empty.
type Client struct {
	// ID is the client_id, string-identical to the document's URL.
	ID string
	// Name is client_name, or ID when the document has none.
	Name string
	// RedirectURIs are the registered redirect URIs, each an absolute URL
	// without fragment, in document order.
	RedirectURIs []string
	// GrantTypes ⊆ {authorization_code, refresh_token}; ["authorization_code"]
	// when the document omits grant_types (RFC 7591 §2).
	GrantTypes []string
	// ResponseTypes is ["code"] (the only value allowed, also the default).
	ResponseTypes []string
	// Scope is the document's scope member ("" when absent), space separated.
	Scope string
	// ClientURI and LogoURI are the optional display URLs, as given.
	ClientURI, LogoURI string
}

// AllowsGrant reports whether the client declared grant type g.
func (c *Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// AllowsRedirectURI reports whether requested is a registered redirect
// URI of the client under [MatchRedirectURI]'s rule (exact, or loopback
// with any port and otherwise exact scheme, host, path and query).
func (c *Client) AllowsRedirectURI(requested string) bool {
	return MatchRedirectURI(requested, c.RedirectURIs)
}

// document is the wire form; members whose type Backstage does not check
// are jsontext.Value so a wrong type gets a clear error naming it.
type document struct {
	ClientID                *string         `json:"client_id"`
	ClientName              jsontext.Value  `json:"client_name"`
	RedirectURIs            jsontext.Value  `json:"redirect_uris"`
	GrantTypes              jsontext.Value  `json:"grant_types"`
	ResponseTypes           jsontext.Value  `json:"response_types"`
	TokenEndpointAuthMethod jsontext.Value  `json:"token_endpoint_auth_method"`
	Scope                   jsontext.Value  `json:"scope"`
	ClientURI               jsontext.Value  `json:"client_uri"`
	LogoURI                 jsontext.Value  `json:"logo_uri"`
	ClientSecret            *jsontext.Value `json:"client_secret"`
	ClientSecretExpiresAt   *jsontext.Value `json:"client_secret_expires_at"`
}

// ParseDocument parses and validates a client metadata document fetched
// from clientID. It enforces, in order: a JSON object; client_id
// string-identical to clientID; redirect_uris a non-empty array of
// absolute URL strings without fragment; no client_secret or
// client_secret_expires_at member; token_endpoint_auth_method absent or
// "none"; grant_types ⊆ {authorization_code, refresh_token} and
// response_types ⊆ {code}, each non-empty when present; client_name,
// scope, client_uri and logo_uri strings when present. Any failure is a
// *[FieldError] naming the member; it never panics on any input.
func ParseDocument(clientID string, body []byte) (*Client, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &FieldError{Field: "(document)", Reason: "must be a JSON object"}
	}
	// Strict JSON (encoding/json/v2 defaults): member names match exactly
	// (a "Redirect_URIs" is not redirect_uris), each at most once (no
	// reading one client_id while another tool reads a second), valid
	// UTF-8, no trailing data.
	var d document
	if err := json.Unmarshal(trimmed, &d); err != nil {
		var syn *jsontext.SyntacticError
		if errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return nil, &FieldError{Field: memberName(syn.JSONPointer), Reason: "duplicate member"}
		}
		var sem *json.SemanticError
		if errors.As(err, &sem) && sem.JSONPointer != "" {
			return nil, &FieldError{Field: memberName(sem.JSONPointer), Reason: "must be a string"}
		}
		return nil, &FieldError{Field: "(document)", Reason: "not valid JSON"}
	}
	if d.ClientID == nil || *d.ClientID != clientID {
		return nil, &FieldError{Field: "client_id", Reason: "must equal the URL the document was fetched from"}
	}
	c := &Client{ID: clientID}

	var redirects []jsontext.Value
	if len(d.RedirectURIs) == 0 || json.Unmarshal(d.RedirectURIs, &redirects) != nil || len(redirects) == 0 {
		return nil, &FieldError{Field: "redirect_uris", Reason: "must be a non-empty array"}
	}
	for i, raw := range redirects {
		field := fmt.Sprintf("redirect_uris[%d]", i)
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, &FieldError{Field: field, Reason: "must be a string"}
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
			return nil, &FieldError{Field: field, Reason: "not an absolute URL"}
		}
		if u.Fragment != "" || bytes.ContainsRune([]byte(s), '#') {
			return nil, &FieldError{Field: field, Reason: "must not contain a fragment"}
		}
		c.RedirectURIs = append(c.RedirectURIs, s)
	}
	if d.ClientSecret != nil {
		return nil, &FieldError{Field: "client_secret", Reason: "must not be present: CIMD clients are public"}
	}
	if d.ClientSecretExpiresAt != nil {
		return nil, &FieldError{Field: "client_secret_expires_at", Reason: "must not be present: CIMD clients are public"}
	}
	if len(d.TokenEndpointAuthMethod) > 0 && string(d.TokenEndpointAuthMethod) != "null" {
		var m string
		if json.Unmarshal(d.TokenEndpointAuthMethod, &m) != nil || m != AuthMethodNone {
			return nil, &FieldError{Field: "token_endpoint_auth_method", Reason: `must be "none": CIMD clients are public`}
		}
	}
	var err error
	if c.GrantTypes, err = stringSet(d.GrantTypes, "grant_types", []string{GrantAuthorizationCode},
		GrantAuthorizationCode, GrantRefreshToken); err != nil {
		return nil, err
	}
	if c.ResponseTypes, err = stringSet(d.ResponseTypes, "response_types", []string{ResponseTypeCode},
		ResponseTypeCode); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		name string
		raw  jsontext.Value
		dst  *string
	}{
		{"client_name", d.ClientName, &c.Name},
		{"scope", d.Scope, &c.Scope},
		{"client_uri", d.ClientURI, &c.ClientURI},
		{"logo_uri", d.LogoURI, &c.LogoURI},
	} {
		if len(m.raw) == 0 || string(m.raw) == "null" {
			continue
		}
		if json.Unmarshal(m.raw, m.dst) != nil {
			return nil, &FieldError{Field: m.name, Reason: "must be a string"}
		}
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	return c, nil
}

// memberName names the top-level member a JSON pointer points into,
// shortened so a hostile name cannot fill a log.
func memberName(p jsontext.Pointer) string {
	name := strings.TrimPrefix(string(p), "/")
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	return truncate(name)
}

// stringSet decodes an optional array of strings whose values must all be
// in allowed; absent or null yields def, present must be non-empty.
func stringSet(raw jsontext.Value, field string, def []string, allowed ...string) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var vs []string
	if json.Unmarshal(raw, &vs) != nil {
		return nil, &FieldError{Field: field, Reason: "must be an array of strings"}
	}
	if len(vs) == 0 {
		return nil, &FieldError{Field: field, Reason: "must not be empty"}
	}
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			return nil, &FieldError{Field: field, Reason: fmt.Sprintf("unsupported value %q (allowed: %v)", truncate(v), allowed)}
		}
	}
	return slices.Compact(slices.Clone(vs)), nil
}

// truncate keeps an echoed value short so a hostile document cannot fill
// logs through an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
