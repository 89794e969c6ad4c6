package server

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
)

// discoveryDocument is auth-backend 0.30's /.well-known/openid-configuration
// with dynamic client registration off (no registration_endpoint), keys in
// its order.
func discoveryDocument(base string) []byte {
	doc := struct {
		Issuer                string   `json:"issuer"`
		TokenEndpoint         string   `json:"token_endpoint"`
		UserinfoEndpoint      string   `json:"userinfo_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		ResponseTypes         []string `json:"response_types_supported"`
		SubjectTypes          []string `json:"subject_types_supported"`
		IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
		Scopes                []string `json:"scopes_supported"`
		TokenEndpointAuth     []string `json:"token_endpoint_auth_methods_supported"`
		Claims                []string `json:"claims_supported"`
		GrantTypes            []string `json:"grant_types_supported"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}{
		Issuer:                base,
		TokenEndpoint:         base + "/v1/token",
		UserinfoEndpoint:      base + "/v1/userinfo",
		JWKSURI:               base + "/.well-known/jwks.json",
		ResponseTypes:         []string{"code", "id_token"},
		SubjectTypes:          []string{"public"},
		IDTokenAlgs:           []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"},
		Scopes:                []string{"openid"},
		TokenEndpointAuth:     []string{"client_secret_basic", "client_secret_post"},
		Claims:                []string{"sub", "ent"},
		GrantTypes:            []string{"authorization_code"},
		AuthorizationEndpoint: base + "/v1/authorize",
		CodeChallengeMethods:  []string{"S256", "plain"},
	}
	b, _ := json.Marshal(doc)
	return b
}

func (s *Server) openIDConfiguration(c echo.Context) error {
	return writeJSONBytes(c, s.discovery)
}

// jwks serves the cached JWKS body; it is on every backend's hot path.
func (s *Server) jwks(c echo.Context) error {
	body, err := s.opts.Tokens.JWKS(c.Request().Context())
	if err != nil {
		writeError(c.Response(), c.Request(), err)
		return nil
	}
	return writeJSONBytes(c, body)
}

var bearerRE = regexp.MustCompile(`(?i)^Bearer[ ]+(\S+)$`)

// userinfo is GET /v1/userinfo, as auth-backend answers it: {"claims": ...}
// of the Backstage token in the Authorization header.
func (s *Server) userinfo(c echo.Context) error {
	r := c.Request()
	m := bearerRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		writeError(c.Response(), r, autherr.Authentication("No token provided"))
		return nil
	}
	claims, err := s.opts.Tokens.UserInfo(r.Context(), m[1])
	if err != nil {
		if autherr.IsNotFound(err) {
			// Backstage answers this one as plain text, not the envelope.
			return c.String(http.StatusNotFound, "User info not found")
		}
		writeError(c.Response(), r, err)
		return nil
	}
	body, err := json.Marshal(map[string]any{"claims": claims})
	if err != nil {
		return err
	}
	return writeJSONBytes(c, body)
}

func writeJSONBytes(c echo.Context, body []byte) error {
	h := c.Response().Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(body)
	return err
}
