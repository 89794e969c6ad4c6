package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// DefaultClientIdleLifetime is how long a DCR registration lives without
// being used; every successful authentication of the client moves its end
// that far ahead. Backstage never deletes a registration (spec §6.16);
// Gatehouse lets unused ones lapse so that open registration cannot grow
// the table for ever, while a client in use never expires. The effective
// lifetime is never shorter than the refresh tokens' idle lifetime, so a
// live refresh session never outlives its client.
const DefaultClientIdleLifetime = 30 * 24 * time.Hour

// Client authentication messages (spec §2.9.3).
const (
	msgClientAuthRequired = "Client authentication required"
	msgInvalidClientCreds = "Invalid client credentials"
)

// basicAuth is the Authorization header Backstage accepts as Basic
// (OidcRouter.parseClientCredentials, spec §2.9.3).
var basicAuth = regexp.MustCompile(`(?i)^Basic[ ]+([^\s]+)$`)

// clientCredentials are what a request presents: HTTP Basic when the
// header is well formed, else the body's client_id and client_secret
// (client_secret_post). Either may be empty.
type clientCredentials struct {
	id, secret string
}

// parseBasic decodes a Basic Authorization header value into both halves,
// or reports false when it is malformed in any way (then the body's
// credentials count, as in Backstage). Unlike Backstage it undoes the
// form-encoding RFC 6749 §2.3.1 asks clients to apply to each half before
// joining them, so a secret or id holding ':' '%' or '+' authenticates.
// Base64 is accepted padded or not, standard or URL alphabet, as Node's
// lenient decoder does.
func parseBasic(header string) (id, secret string, ok bool) {
	m := basicAuth.FindStringSubmatch(header)
	if m == nil {
		return "", "", false
	}
	raw, err := decodeBase64Lenient(m[1])
	if err != nil {
		return "", "", false
	}
	i := strings.IndexByte(string(raw), ':')
	if i < 0 {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(string(raw[:i]))
	secret, err2 := url.QueryUnescape(string(raw[i+1:]))
	if err1 != nil || err2 != nil || id == "" || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

func decodeBase64Lenient(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// credentials reads the request's client credentials.
func credentials(c echo.Context, p *params) clientCredentials {
	if id, secret, ok := parseBasic(c.Request().Header.Get("Authorization")); ok {
		return clientCredentials{id: id, secret: secret}
	}
	return clientCredentials{id: p.optStr("client_id"), secret: p.optStr("client_secret")}
}

// optStr is an optional string field whose wrong type counts as absent
// (credentials are never a validation error, as in Backstage's parse).
func (p *params) optStr(field string) string {
	s, _ := p.m[field].(string)
	return s
}

// caller is who a /v1/token or /v1/revoke request is from, after its
// credentials were checked.
type caller struct {
	// id is the client_id the request names (Basic or body); "" for an
	// anonymous public client such as the Backstage CLI.
	id string
	// authenticated: id is a DCR client whose secret was verified.
	authenticated bool
}

// authenticate checks the request's credentials. A DCR client is
// confidential and must present its secret; a CIMD client (the CLI
// included) is public and must present none. A named client that is
// neither registered nor an allowed CIMD client_id is refused, so a
// client binding check never compares against a client that cannot
// exist. Errors are 401 invalid_client *Errors, or the store's failure.
func (s *Server) authenticate(ctx context.Context, cr clientCredentials) (caller, error) {
	if cr.id == "" {
		if cr.secret != "" {
			return caller{}, s.invalidClient(msgClientAuthRequired)
		}
		return caller{}, nil
	}
	dcr, err := s.dcrClient(ctx, cr.id)
	if err != nil {
		return caller{}, err
	}
	if dcr == nil {
		if cr.secret != "" || !s.isPublicClient(cr.id) {
			return caller{}, s.invalidClient(msgInvalidClientCreds)
		}
		return caller{id: cr.id}, nil
	}
	if cr.secret == "" {
		return caller{}, s.invalidClient(msgClientAuthRequired)
	}
	if subtle.ConstantTimeCompare([]byte(identity.HashSecret(cr.secret)), []byte(dcr.SecretHash)) != 1 {
		return caller{}, s.invalidClient(msgInvalidClientCreds)
	}
	now := s.now()
	if err := s.opts.Store.TouchClient(ctx, dcr.ID, now, now.Add(s.tok.clientIdle)); err != nil {
		// The client did authenticate; only its expiry did not move.
		s.log.WarnContext(ctx, "could not record a DCR client's use", "client_id", dcr.ID, "error", err.Error())
	}
	return caller{id: cr.id, authenticated: true}, nil
}

// dcrClient returns the live DCR registration id names, nil when there is
// none, or 401 "Invalid client credentials" when it has lapsed (its
// tokens die with it).
func (s *Server) dcrClient(ctx context.Context, id string) (*identity.OAuthClient, error) {
	if strings.Contains(id, "://") {
		// A DCR client_id is a UUID, never a URL: CIMD ids skip the store.
		// (DCR being switched off later does not make its clients public.)
		return nil, nil
	}
	cl, err := s.opts.Store.GetClient(ctx, id)
	if autherr.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !cl.Expires.IsZero() && !s.now().Before(cl.Expires) {
		return nil, s.invalidClient(msgInvalidClientCreds)
	}
	return &cl, nil
}

// isPublicClient reports whether id is a client that authenticates with
// no secret: the Backstage CLI, or a CIMD client_id the allowlist admits
// (checked without fetching its document, so that revocation works when
// the document is gone, as in Backstage).
func (s *Server) isPublicClient(id string) bool {
	return s.cfg.CIMD.Enabled && (id == s.cfg.CLIClientID() || s.tok.cimdIDs.Allows(id))
}

// bindClient checks that the request may use a code or refresh token
// issued to owner: a client it names must be owner (else wrong, a 400 in
// the grant's words), and a confidential owner must have authenticated
// (else 401 "Client authentication required").
func (s *Server) bindClient(ctx context.Context, who caller, owner string, wrong *Error) error {
	if who.id != "" && who.id != owner {
		return wrong
	}
	if who.authenticated {
		return nil
	}
	dcr, err := s.dcrClient(ctx, owner)
	if err != nil {
		return err
	}
	if dcr != nil {
		return s.invalidClient(msgClientAuthRequired)
	}
	return nil
}
