package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"

	"github.com/gatehouse-auth/gatehouse/clients/cimd"
	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// resolvedClient is a client as /v1/authorize and the consent routes see
// it, whichever way it was found (CIMD document or DCR registration).
type resolvedClient struct {
	id string
	// name is what the consent page shows: client_name, else the id.
	name string
	// public is true for CIMD clients (the CLI included): no secret, so
	// possession of a code or token is all they prove.
	public       bool
	redirectURIs []string
}

// resolveClient finds clientID's client as Backstage's resolveClient
// (spec §2.5 step 3): a CIMD URL (or the CLI's own id, which is one even
// on an http://localhost deployment) takes the CIMD path, anything else
// names a registered (DCR) client. When redirectURI is not empty it must
// be one the client may use; the consent routes pass "" (§2.6). Errors a
// client caused are InputErrors with Backstage's messages; others are
// internal.
func (s *Server) resolveClient(ctx context.Context, clientID, redirectURI string) (*resolvedClient, error) {
	if clientID == s.cfg.CLIClientID() || cimd.IsCIMDURL(clientID, cimd.URLOptions{}) {
		return s.resolveCIMDClient(ctx, clientID, redirectURI)
	}
	return s.resolveDCRClient(ctx, clientID, redirectURI)
}

// resolveCIMDClient is spec §2.5 steps 3a–3e, and Gatehouse's enforcement
// of the document's grant_types and response_types (§6.10).
func (s *Server) resolveCIMDClient(ctx context.Context, clientID, redirectURI string) (*resolvedClient, error) {
	if !s.cfg.CIMD.Enabled {
		return nil, autherr.Input("Client ID metadata documents not enabled")
	}
	if !s.authz.clientIDs.Allows(clientID) {
		return nil, autherr.Input("Invalid client_id '%s'", clientID)
	}
	doc, err := s.clientDocument(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !doc.AllowsGrant(cimd.GrantAuthorizationCode) {
		return nil, autherr.Input("Invalid client metadata document: grant_types must include authorization_code")
	}
	if !slices.Contains(doc.ResponseTypes, cimd.ResponseTypeCode) {
		return nil, autherr.Input("Invalid client metadata document: response_types must include code")
	}
	if redirectURI != "" {
		if s.authz.cimdRedirects.CheckRedirectURI(redirectURI) != nil {
			return nil, autherr.Input("Invalid redirect_uri '%s'", shownRedirectURI(redirectURI))
		}
		if !doc.AllowsRedirectURI(redirectURI) {
			return nil, autherr.Input("Invalid redirect_uri '%s', not registered in client metadata", redirectURI)
		}
	}
	name := doc.Name
	if name == "" {
		name = doc.ID
	}
	return &resolvedClient{id: doc.ID, name: name, public: true, redirectURIs: doc.RedirectURIs}, nil
}

// shownRedirectURI is how Backstage quotes a refused redirect URI:
// <scheme>//<host><path>, so neither credentials nor the query nor the
// fragment are echoed.
func shownRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Opaque != "" {
		return u.Scheme + "://" + u.Opaque
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// clientDocument is the validated CIMD document of clientID. The CLI's is
// served from memory, never fetched: the deployment knows it, and fetching
// our own URL would fail behind many ingresses and on http://localhost.
// A fetch failure is an InputError naming the problem in Backstage's
// words; the detail (host, status, cause) goes only to the log.
func (s *Server) clientDocument(ctx context.Context, clientID string) (*cimd.Client, error) {
	if clientID == s.cfg.CLIClientID() {
		return s.cfg.cliClient(), nil
	}
	doc, err := s.authz.fetcher.Fetch(ctx, clientID)
	if err == nil {
		return doc, nil
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "client metadata document refused",
		slog.String("client_id", clientID), slog.String("error", err.Error()))
	return nil, autherr.Input("%s", documentErrorMessage(err))
}

// documentMessages are Backstage's messages (spec §3.4) for the document
// members cimd.ParseDocument names; other members get the field and reason.
var documentMessages = map[string]string{
	"client_id":                  "Client ID mismatch in metadata document",
	"redirect_uris":              "Metadata must include at least one redirect_uri",
	"client_secret":              "Client metadata must not contain client_secret",
	"client_secret_expires_at":   "Client metadata must not contain client_secret",
	"token_endpoint_auth_method": "Client metadata uses forbidden auth method",
}

// documentErrorMessage is the client-facing text of a Fetch error (spec
// §3.3, §3.4). It never carries the error's own text, only what
// cimd.FieldError says is safe to show.
func documentErrorMessage(err error) string {
	var fe *cimd.FieldError
	switch {
	case errors.Is(err, cimd.ErrBlockedAddress):
		return "Invalid client_id URL"
	case errors.Is(err, cimd.ErrTooLarge):
		return "Client metadata document too large"
	case errors.As(err, &fe):
		if m, ok := documentMessages[fe.Field]; ok {
			return m
		}
		return "Invalid client metadata document: " + fe.Field + ": " + fe.Reason
	case errors.Is(err, cimd.ErrInvalidDocument):
		return "Invalid client metadata document"
	default:
		return "Failed to fetch client metadata"
	}
}

// resolveDCRClient is spec §2.5's DCR path: a live registration and, when
// redirectURI is given, string equality with a registered URI (no
// loopback-port flexibility). With DCR turned off no registration is
// honoured, not even one made while it was on.
func (s *Server) resolveDCRClient(ctx context.Context, clientID, redirectURI string) (*resolvedClient, error) {
	if !s.cfg.DCR.Enabled {
		return nil, autherr.Input("Invalid client_id")
	}
	c, err := s.opts.Store.GetClient(ctx, clientID)
	if autherr.IsNotFound(err) || (err == nil && !c.Expires.IsZero() && !s.now().Before(c.Expires)) {
		return nil, autherr.Input("Invalid client_id")
	}
	if err != nil {
		return nil, err
	}
	if redirectURI != "" && !slices.Contains(c.RedirectURIs, redirectURI) {
		return nil, autherr.Input("Invalid redirect_uri '%s'", redirectURI)
	}
	return dcrClient(c), nil
}

// dcrClient is a registration as a resolvedClient: confidential, named by
// its client_name or else its id.
func dcrClient(c identity.OAuthClient) *resolvedClient {
	name := c.Name
	if name == "" {
		name = c.ID
	}
	return &resolvedClient{id: c.ID, name: name, redirectURIs: c.RedirectURIs}
}
