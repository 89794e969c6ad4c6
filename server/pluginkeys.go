package server

import (
	"context"

	"github.com/labstack/echo/v4"
)

// JWKSSource gives a JSON Web Key Set document ({"keys":[...]}).
// identity.PluginKeys implements it.
type JWKSSource interface {
	JWKS(ctx context.Context) ([]byte, error)
}

// pluginJWKS is GET /.backstage/auth/v1/jwks.json: the keys Backstage
// backends verify Gatehouse's plugin tokens with (auth-node's plugin token
// handler fetches it from the issuing plugin's base URL). Every
// Backstage plugin serves this route; a receiver that gets a 404 here
// rejects the token, so it answers an empty set when Gatehouse mints none.
func (s *Server) pluginJWKS(c echo.Context) error {
	if s.opts.PluginKeys == nil {
		return writeJSONBytes(c, []byte(`{"keys":[]}`))
	}
	body, err := s.opts.PluginKeys.JWKS(c.Request().Context())
	if err != nil {
		writeError(c.Response(), c.Request(), err)
		return nil
	}
	return writeJSONBytes(c, body)
}
