package providers

import (
	"encoding/json"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// CheckIDTokenClaims applies the ID-token rules of OpenID Connect Core
// 3.1.3.7 that go-oidc's verifier leaves out, as openid-client (Backstage's
// OIDC library) applies them:
//
//   - iat must be present and a number;
//   - an azp claim, when present, must be a string naming clientID;
//   - an ID token with several audiences must carry an azp claim.
//
// claims are the token's decoded claims; every refusal is an
// AuthenticationError naming the claim.
func CheckIDTokenClaims(claims map[string]any, clientID string) error {
	iat, ok := claims["iat"]
	if !ok || iat == nil {
		return autherr.Authentication("Authentication rejected, ID token has no iat claim")
	}
	switch iat.(type) {
	case float64, json.Number:
	default:
		return autherr.Authentication("Authentication rejected, ID token iat claim is not a number")
	}
	azp, hasAZP := claims["azp"]
	if hasAZP {
		s, ok := azp.(string)
		if !ok {
			return autherr.Authentication("Authentication rejected, ID token azp claim is not a string")
		}
		if s != clientID {
			return autherr.Authentication("Authentication rejected, ID token azp %q is not this client", clip(s))
		}
	}
	// A single audience may be a string or a one-element array.
	if auds, ok := claims["aud"].([]any); ok && len(auds) > 1 && !hasAZP {
		return autherr.Authentication("Authentication rejected, ID token has several audiences but no azp claim")
	}
	return nil
}

// CheckResponseIssuer applies RFC 9207 to the authorization response's
// parameters: an iss parameter must equal issuer exactly, and required (the
// IdP's metadata sets authorization_response_iss_parameter_supported) makes
// a missing one a refusal. Call it before acting on anything else in the
// response, an error parameter included: a response naming another issuer
// cannot be trusted to say anything.
func CheckResponseIssuer(params url.Values, issuer string, required bool) error {
	got, sent := params["iss"]
	switch {
	case !sent:
		if required {
			return autherr.Authentication("Authentication rejected, the authorization response has no iss parameter, though the IdP's metadata sets authorization_response_iss_parameter_supported")
		}
		return nil
	case len(got) != 1:
		return autherr.Authentication("Authentication rejected, the authorization response carries %d iss parameters", len(got))
	case got[0] != issuer:
		return autherr.Authentication("Authentication rejected, authorization response iss %q is not the issuer %q", clip(got[0]), issuer)
	}
	return nil
}

// clip shortens a value from the IdP or the browser before it goes into a
// message shown to the user.
func clip(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
