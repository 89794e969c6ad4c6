package server

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
)

// JWKSSource gives a JSON Web Key Set document ({"keys":[...]}) with its
// ETag and Cache-Control. identity.PluginKeys implements it.
type JWKSSource interface {
	JWKSDocument(ctx context.Context) (httpcache.Document, error)
}

// emptyJWKS is the plugin JWKS when Gatehouse mints no plugin tokens,
// revalidated before each reuse like the minted set (max-age=0), so a
// restart that starts minting shows at once.
var emptyJWKS = httpcache.NewDocument([]byte(`{"keys":[]}`), httpcache.PublicMaxAge(0))

// pluginJWKS is GET /.backstage/auth/v1/jwks.json: the keys Backstage
// backends verify Gatehouse's plugin tokens with (auth-node's plugin token
// handler fetches it from the issuing plugin's base URL). Every
// Backstage plugin serves this route; a receiver that gets a 404 here
// rejects the token, so it answers an empty set when Gatehouse mints none.
func (s *Server) pluginJWKS(c echo.Context) error {
	if s.opts.PluginKeys == nil {
		return httpcache.Serve(c.Response(), c.Request(), emptyJWKS)
	}
	doc, err := s.opts.PluginKeys.JWKSDocument(c.Request().Context())
	if err != nil {
		writeError(c.Response(), c.Request(), err)
		return nil
	}
	return httpcache.Serve(c.Response(), c.Request(), doc)
}
