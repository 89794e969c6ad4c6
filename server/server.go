// Package server serves Backstage's auth-backend protocol under /api/auth
// with Echo: /start, /handler/frame, /refresh and /logout per provider, plus
// JWKS and /v1/userinfo, and mounts the authorization server's routes
// (server/oauth: discovery documents, /v1/authorize, /v1/token, …). It owns everything on
// the wire (state, cookies, the popup page, the error envelope); providers,
// resolvers and the token issuer sit behind small interfaces.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/identity"
	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/internal/httpcache"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/providers"
	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/server/oauth"
)

const authMount = "/api/auth"

// Transforms builds the profile from a provider result.
type Transforms interface {
	Apply(ctx context.Context, providerID string, result *providers.Result) (providers.Profile, error)
}

// TokenIssuer issues Backstage tokens and answers JWKS and userinfo.
type TokenIssuer interface {
	IssueToken(ctx context.Context, c identity.Claims) (*identity.IssuedToken, error)
	// JWKSDocument is the JWKS body with its ETag and Cache-Control,
	// prepared once per key set (identity.Issuer.JWKSDocument).
	JWKSDocument(ctx context.Context) (httpcache.Document, error)
	UserInfo(ctx context.Context, token string) (map[string]any, error)
}

// Environment is one environment of one provider (auth.providers.<id>.<env>)
// as the server serves it: the opened provider, its transforms and resolver
// chain, and the cookie settings.
type Environment struct {
	Provider   providers.Provider
	Transforms Transforms
	// Resolver is nil when signIn.resolvers is empty: the provider then
	// answers without backstageIdentity, as Backstage does.
	Resolver resolvers.SignInResolver
	// CallbackURL is the redirect_uri; "" means <authBase>/<id>/handler/frame.
	CallbackURL string
	// SessionDuration is the refresh cookie's Max-Age; 0 means 1000 days.
	SessionDuration time.Duration
	// AdditionalScopes are added to every authorization request.
	AdditionalScopes []string
	// SignOut is the provider env's signOut block (RP-initiated logout,
	// server/logout.go).
	SignOut SignOut
}

// Options configures a Server.
type Options struct {
	// AppBaseURL is app.baseUrl: default origin and postMessage target.
	AppBaseURL string
	// AuthBaseURL is the external base of the auth routes, e.g.
	// http://localhost:7007/api/auth. It is the token issuer too.
	AuthBaseURL string
	// ExtraAllowedOrigins are auth.experimentalExtraAllowedOrigins globs.
	ExtraAllowedOrigins []string
	// SessionSecret is auth.session.secret; it keys the transaction cookie.
	SessionSecret string
	// Providers maps provider id → env → provider.
	Providers map[string]map[string]*Environment
	Tokens    TokenIssuer
	Logger    *slog.Logger
	// Edge is CORS, the security headers and the request limits
	// (server/middleware.go); the zero value is Backstage's defaults without CORS.
	Edge EdgeOptions
	// Metrics records sign-in outcomes, step latencies and HTTP metrics
	// (server/metrics.go); nil records nothing.
	Metrics *metrics.Metrics
	// PluginKeys serves /.backstage/auth/v1/jwks.json, the public keys of
	// the plugin tokens Gatehouse sends as plugin `auth`; nil serves an
	// empty key set (server/pluginkeys.go).
	PluginKeys JWKSSource
	// RefreshGrace elects, across the replicas sharing it, the one request
	// that spends a rotating refresh token at the IdP and keeps its sealed
	// answer for the others (server/refresh.go); nil means a memory store,
	// which serves one replica.
	RefreshGrace identity.RefreshGraceStore
	// RefreshGracePeriod is gatehouse.sessions.refreshGracePeriod: how long
	// that answer stays usable; 0 means DefaultRefreshGracePeriod, and a
	// negative value keeps no answers (concurrent requests on one replica
	// still share one IdP call).
	RefreshGracePeriod time.Duration
	// SessionEnds records ended sessions (back-channel logout, `gatehouse
	// sessions revoke`) and is asked at every /refresh; nil keeps them in
	// this process's memory (server/sessionend.go).
	SessionEnds identity.SessionEndStore
	// OAuth is the authorization server for MCP clients and the CLI
	// (server/oauth); its routes are mounted before the catch-all. Nil
	// means a disabled one on AuthBaseURL and AppBaseURL, which serves the
	// discovery documents (always mounted, spec §1.2) and nothing else.
	OAuth *oauth.Server
	// Now is for tests; default time.Now.
	Now func() time.Time
}

// Server is the HTTP side of Gatehouse.
type Server struct {
	echo      *echo.Echo
	handler   http.Handler // echo behind the edge
	opts      Options
	log       *slog.Logger
	origins   *originFilter
	seal      *sealer
	refreshes *refreshes     // refresh.go
	idTokens  *idTokenSealer // the <provider>-id-token cookie
	sessions  *sessionSealer // the <provider>-session cookie (session.go)
	providers map[string]*providerRoutes
}

// providerRoutes is one provider id with its environments.
type providerRoutes struct {
	id   string
	envs map[string]*envRuntime
}

type envRuntime struct {
	*Environment
	id     string
	env    string
	jar    *cookieJar
	scopes providers.Scopes
}

// New checks the options and builds the routes. Misconfiguration is
// reported here, at start-up, never on a request.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Tokens == nil {
		return nil, errors.New("server: a token issuer is required")
	}
	o.AuthBaseURL = strings.TrimSuffix(o.AuthBaseURL, "/")
	if o.SessionEnds == nil {
		o.SessionEnds = identity.NewMemorySessionEndStore()
	}
	origins, err := newOriginFilter(o.AppBaseURL, o.ExtraAllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("auth.experimentalExtraAllowedOrigins: %w", err)
	}
	s := &Server{opts: o, log: o.Logger, origins: origins, providers: map[string]*providerRoutes{}}
	if len(o.Providers) > 0 {
		if s.seal, err = newSealer(o.SessionSecret, o.Now); err != nil {
			return nil, err
		}
		if s.refreshes, err = newRefreshes(o.SessionSecret, o); err != nil {
			return nil, err
		}
		if s.idTokens, err = newIDTokenSealer(o.SessionSecret); err != nil {
			return nil, err
		}
		if s.sessions, err = newSessionSealer(o.SessionSecret); err != nil {
			return nil, err
		}
	}
	for id, envs := range o.Providers {
		pr := &providerRoutes{id: id, envs: map[string]*envRuntime{}}
		for env, provEnv := range envs {
			cb := provEnv.CallbackURL
			if cb == "" {
				cb = providers.CallbackURL(o.AuthBaseURL, id)
			}
			jar, err := newCookieJar(id, cb, provEnv.SessionDuration, o.Now)
			if err != nil || jar == nil {
				return nil, fmt.Errorf("auth.providers.%s.%s.callbackUrl: not a valid URL", id, env)
			}
			jar.maxChunks = o.Edge.Limits.WithDefaults().MaxCookieChunks
			pr.envs[env] = &envRuntime{Environment: provEnv, id: id, env: env, jar: jar, scopes: provEnv.Provider.Scopes()}
		}
		s.providers[id] = pr
	}
	if o.OAuth == nil {
		// The discovery documents are always served, by server/oauth;
		// without an authorization server configured, a disabled one
		// serves them (and mounts nothing else).
		if s.opts.OAuth, err = oauth.New(oauth.Options{Config: oauth.Config{AuthBaseURL: o.AuthBaseURL, AppBaseURL: o.AppBaseURL}, Logger: o.Logger, Now: o.Now}); err != nil {
			return nil, err
		}
	}
	s.echo = s.routes()
	edge, err := newEdge(o.Edge)
	if err != nil {
		return nil, err
	}
	s.handler = edge.wrap(s.echo)
	return s, nil
}

// Handler returns the HTTP handler serving /api/auth, with the security
// headers, CORS and request limits of Options.Edge applied to every answer.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.echoError
	e.Use(s.observeHTTP)
	g := e.Group(authMount)
	g.GET("/.well-known/jwks.json", s.jwks)
	g.GET("/.backstage/auth/v1/jwks.json", s.pluginJWKS)
	g.GET("/v1/userinfo", s.userinfo)
	g.GET("/:provider/start", s.withEnv(s.start))
	g.GET("/:provider/handler/frame", s.withEnv(s.frame))
	g.POST("/:provider/handler/frame", s.withEnv(s.frame))
	g.GET("/:provider/refresh", s.withEnv(s.refresh))
	g.POST("/:provider/refresh", s.withEnv(s.refresh))
	g.POST("/:provider/logout", s.withEnv(s.logout))
	g.POST("/:provider/backchannel-logout", s.withEnv(s.backchannelLogout))
	for _, r := range s.opts.OAuth.Routes() {
		if r.Root {
			e.Add(r.Method, r.Path, r.Handler)
		} else {
			g.Add(r.Method, r.Path, r.Handler)
		}
	}
	g.Any("/:provider/*", s.unknownProvider)
	g.Any("/:provider", s.unknownProvider)
	return e
}

// echoError turns Echo's own errors (no route, wrong method) into the
// answer Backstage's catch-all router gives, and anything else into the
// envelope.
func (s *Server) echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		r := c.Request()
		if rest, ok := strings.CutPrefix(r.URL.Path, authMount+"/"); ok && rest != "" {
			p, _, _ := strings.Cut(rest, "/")
			err = autherr.NotFound("Unknown auth provider '%s'", p)
		} else {
			err = autherr.NotFound("Not found")
		}
	}
	s.answerError(c, err)
}

func (s *Server) unknownProvider(c echo.Context) error {
	return autherr.NotFound("Unknown auth provider '%s'", c.Param("provider"))
}

type envHandler func(c echo.Context, rt *envRuntime) error

// withEnv is OAuthEnvironmentHandler: env comes from ?env=, else from the
// hex state (which must then decode).
func (s *Server) withEnv(h envHandler) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("provider")
		pr, ok := s.providers[id]
		if !ok {
			return autherr.NotFound("Unknown auth provider '%s'", id)
		}
		r := c.Request()
		env := r.URL.Query().Get("env")
		if env == "" {
			// Gatehouse also reads the state of a form_post callback,
			// which Backstage (query only) rejects.
			raw, err := stateParam(r)
			if err != nil {
				return err
			}
			if raw != "" {
				st, err := decodeState(raw)
				if err != nil {
					return err
				}
				env = st.Env
			}
		}
		if env == "" {
			return autherr.Input("Must specify 'env' query to select environment")
		}
		rt, ok := pr.envs[env]
		if !ok {
			return autherr.NotFound("No configuration available for the '%s' environment of this provider.", env)
		}
		if err := h(c, rt); err != nil {
			s.answerError(c, err)
		}
		return nil
	}
}

// answerError writes err's envelope. Detail the envelope leaves out
// (publicError) goes to the log, unless the handler has logged it.
func (s *Server) answerError(c echo.Context, err error) {
	r := c.Request()
	var logged loggedError
	if hidesDetail(err) && !errors.As(err, &logged) {
		s.log.LogAttrs(r.Context(), levelFor(err), "request failed",
			stringAttr("route", c.Path()), errorAttr(err))
	}
	writeError(c.Response(), r, err)
}
