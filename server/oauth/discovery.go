package oauth

// discoveryState holds the pre-encoded discovery documents (discovery.go).
type discoveryState struct{}

func (d *discoveryState) init(s *Server) error { return nil }

// routes are the always-mounted routes: the OpenID discovery document,
// RFC 8414 metadata and the CLI's client metadata document. STUB: the
// server package still serves /.well-known/openid-configuration itself.
func (d *discoveryState) routes(s *Server) []Route { return nil }
