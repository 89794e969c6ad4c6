package oidc

import (
	"context"
	"errors"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/providers"
)

var _ providers.BackchannelLogoutVerifier = (*Provider)(nil)

// VerifyLogoutToken verifies an OpenID Connect back-channel logout token
// (Back-Channel Logout 1.0, 2.6): a JWS signed with the alg the ID tokens
// use (tokenSignedResponseAlg) by a key of the IdP's JWKS, whose claims pass
// providers.CheckLogoutTokenClaims for this provider's issuer and client id.
// Encrypted logout tokens are refused.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*providers.LogoutClaims, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("the logout token is missing")
	}
	if strings.Count(raw, ".") != 2 {
		return nil, errors.New("the logout token is not a signed JWT in compact form")
	}
	// go-oidc's key set accepts any alg go-jose knows; a logout token must
	// use the alg configured for ID tokens, so "none" or HS256 tricks fail
	// here, before any key is tried.
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(p.cfg.TokenSignedResponseAlg)})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("the logout token is not a JWS signed with " + p.cfg.TokenSignedResponseAlg)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	payload, err := d.keys.VerifySignature(ctx, raw)
	if err != nil {
		return nil, errors.New("the logout token's signature does not verify with the IdP's keys")
	}
	return providers.CheckLogoutTokenClaims(payload, d.issuer, p.cfg.ClientID, p.cfg.Now())
}
