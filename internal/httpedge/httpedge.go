// Package httpedge holds the settings of Gatehouse's HTTP edge — how the
// auth routes meet the network: backend.cors, backend.csp and
// backend.limits. config decodes them and server enforces them; both use
// these types and defaults, so nothing is copied between them and each
// default exists once. It imports neither.
package httpedge

import (
	"net/http"
	"time"
)

// Defaults of backend.limits: generous for the auth routes (whose bodies are
// a form_post callback at most) yet small enough that a slow or greedy
// client cannot hold a connection or memory for long.
const (
	// DefaultReadHeaderTimeout bounds reading the request line and headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing a response.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxBodyBytes is body-parser's 100kb, the limit Backstage's
	// auth router applies to urlencoded and JSON bodies.
	DefaultMaxBodyBytes = 100 << 10
	// DefaultMaxHeaderBytes is Node's --max-http-header-size default (16 KiB)
	// raised to fit a full set of chunked refresh-token cookies.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxCookieChunks is how many <name>-N cookie chunks are read
	// back: 16 × 4000 characters is far above any real refresh token, and
	// the cap keeps a request from making Gatehouse concatenate unbounded
	// input.
	DefaultMaxCookieChunks = 16
)

// Limits is backend.limits, Gatehouse's own block. A field that is zero (or
// negative) stands for its default, so the zero Limits is the default
// limits; config.Load returns every field set.
type Limits struct {
	// ReadHeaderTimeout is http.Server.ReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is http.Server.ReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout is http.Server.WriteTimeout.
	WriteTimeout time.Duration
	// IdleTimeout is http.Server.IdleTimeout.
	IdleTimeout time.Duration
	// MaxBodyBytes caps a request body (413 above it).
	MaxBodyBytes int64
	// MaxHeaderBytes caps the request line plus headers (431 above it).
	MaxHeaderBytes int
	// MaxCookieChunks caps how many <name>-N cookie chunks are read back.
	MaxCookieChunks int
}

// DefaultLimits returns the limits used when backend.limits is absent:
// every field is its Default* constant.
func DefaultLimits() Limits {
	return Limits{}.WithDefaults()
}

// WithDefaults returns l with every field that is not positive replaced by
// its default; the result has every field set.
func (l Limits) WithDefaults() Limits {
	orDefault(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	orDefault(&l.ReadTimeout, DefaultReadTimeout)
	orDefault(&l.WriteTimeout, DefaultWriteTimeout)
	orDefault(&l.IdleTimeout, DefaultIdleTimeout)
	orDefault(&l.MaxBodyBytes, DefaultMaxBodyBytes)
	orDefault(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&l.MaxCookieChunks, DefaultMaxCookieChunks)
	return l
}

func orDefault[T time.Duration | int | int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Defaults of backend.cors, as the cors package that Backstage's
// readCorsOptions hands them to has them.
const (
	// DefaultCORSMethods are the methods allowed when backend.cors.methods
	// is empty.
	DefaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"
	// DefaultOptionsSuccessStatus is the status of an answered preflight.
	DefaultOptionsSuccessStatus = http.StatusNoContent
	// NoMaxAge is the MaxAge that sends no Access-Control-Max-Age (0 is
	// sent as "0", as the cors package does).
	NoMaxAge = -1
)

// CORS is backend.cors, read as Backstage's readCorsOptions reads it and
// applied as the cors package applies it. A nil *CORS (no backend.cors
// block) means no CORS headers at all.
type CORS struct {
	// Origins are the origin globs (a string or a list in the config),
	// matched as minimatch does with {nocase, noglobstar}; empty means any
	// origin, answered with "*" and never with credentials.
	Origins []string
	// Methods is methods; empty means DefaultCORSMethods.
	Methods []string
	// AllowedHeaders is allowedHeaders; empty means the preflight's
	// Access-Control-Request-Headers are reflected. X-Requested-With is
	// always allowed: every refresh sends it.
	AllowedHeaders []string
	// ExposedHeaders is exposedHeaders, sent on answers that are not
	// preflights.
	ExposedHeaders []string
	// Credentials is credentials: Access-Control-Allow-Credentials for a
	// matched (not "*") origin.
	Credentials bool
	// MaxAge is maxAge in seconds; negative (NoMaxAge, what config sets
	// when the key is absent) sends no Access-Control-Max-Age.
	MaxAge int
	// PreflightContinue is preflightContinue: pass preflights on to the
	// routes instead of answering them.
	PreflightContinue bool
	// OptionsSuccessStatus is optionsSuccessStatus, the status of an
	// answered preflight; 0 means DefaultOptionsSuccessStatus.
	OptionsSuccessStatus int
}

// CSPDirective is one Content-Security-Policy directive, and one
// backend.csp override of helmet's default policy: Values replace the
// directive of that name (or add a new one at the end); Remove (the value
// false in the config) deletes it.
type CSPDirective struct {
	// Name is the dashed, lower-case directive name (script-src).
	Name string
	// Values are the directive's source expressions; empty sends the name
	// alone (as upgrade-insecure-requests is written).
	Values []string
	// Remove deletes the directive from the policy.
	Remove bool
}
