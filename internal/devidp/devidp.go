// Package devidp is the dev and test OpenID provider: a real OP built on
// github.com/zitadel/oidc/v3/pkg/op that plays VMware VCF SSO. It serves
// VCF SSO's issuer path (/acs/t/CUSTOMER), puts VCF SSO's claims (sub,
// user_name, acct, name, and no email) in ID tokens and userinfo, and keeps
// everything in memory. With Config.ConsoleOrgID it also plays the VMware
// Cloud Services console at the root path of the same listener
// (vmwareconsole.go). "CSP" in this package means that console (VMware's
// name for Cloud Services Platform), never Content-Security-Policy; its
// identifiers say "console". Tests run it in-process; `gatehouse dev` runs
// it next to Gatehouse. It only listens on loopback addresses, because its users and
// passwords are plain text.
package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Client is an OAuth client registered at the dev IdP. It is confidential:
// it authenticates at the token and revocation endpoints with its secret,
// by client_secret_basic or client_secret_post. Only the listed redirect URIs
// (exact match) are accepted.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
	// BackchannelLogoutURI, when set, receives a logout token (OpenID
	// Connect Back-Channel Logout 1.0) whenever a user signs out at the
	// end-session endpoint, and from IdP.BackchannelLogout (backchannel.go).
	BackchannelLogoutURI string
}

// Config configures Start.
type Config struct {
	// Addr is the listen address; "" means "127.0.0.1:0". It must be a
	// loopback address (127.0.0.0/8, ::1, localhost), else Start returns an
	// error naming it.
	Addr    string
	Users   []User
	Clients []Client
	Logger  *slog.Logger // nil = discard
	// IssuerPath is the path part of the issuer; "" means "/acs/t/CUSTOMER"
	// (VCF SSO's form).
	IssuerPath string
	// AccessTokenLifetime / IDTokenLifetime: 0 means 5 minutes / 5 minutes.
	AccessTokenLifetime time.Duration
	IDTokenLifetime     time.Duration
	// ConsoleOrgID, when set, also serves the VMware Cloud Services
	// console's endpoints at the root path; it is the organization the
	// console signs users into.
	ConsoleOrgID string
}

const (
	defaultAddr       = "127.0.0.1:0"
	defaultIssuerPath = "/acs/t/CUSTOMER"
	defaultLifetime   = 5 * time.Minute
	sessionCookie     = "devidp_session"
	loginPath         = "/login"
	loggedOutPath     = "/logged-out"
)

// IdP is a running dev OpenID provider. Its methods are safe for concurrent
// use.
type IdP struct {
	issuer       string
	issuerPath   string
	consoleURL   string
	srv          *http.Server
	vcf          *instance // VCF SSO at issuerPath
	console      *instance // VMware Cloud Services at the root, nil unless Config.ConsoleOrgID
	consoleOrgID string
	log          *slog.Logger
	// backchannel maps client id → BackchannelLogoutURI (backchannel.go).
	backchannel map[string]string

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// instance is one op.Provider with its storage and login UI. The VCF SSO
// and CSP instances share users and registered clients but nothing else:
// codes, tokens, keys and SSO sessions of one are not valid at the other.
type instance struct {
	product    string // shown on the login page and in logs
	issuer     string
	store      *storage
	provider   *op.Provider
	loginURL   string // absolute URL of the login form
	cookieName string // SSO session cookie
	cookiePath string
	log        *slog.Logger
}

// newKey makes a fresh 2048-bit RSA signing key and a random key ID.
func newKey() (string, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", nil, fmt.Errorf("dev IdP: signing key: %w", err)
	}
	kidBytes := make([]byte, 8)
	if _, err := rand.Read(kidBytes); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(kidBytes), key, nil
}

// newCryptoKey returns a random key for op's encryption of codes and
// opaque access tokens.
func newCryptoKey() ([32]byte, error) {
	var k [32]byte
	_, err := rand.Read(k[:])
	return k, err
}

// Start validates cfg, makes a fresh 2048-bit RSA signing key, listens on
// cfg.Addr and serves the OP in a goroutine. When it returns without error
// the listener is open, so requests to Issuer() succeed at once. ctx bounds
// only the start-up; stop the IdP with Close.
//
// With cfg.ConsoleOrgID set it also serves VMware Cloud Services-like endpoints
// at the root path of the same listener (see ConsoleURL), with a second
// signing key (see ConsoleSigningKey).
func Start(ctx context.Context, cfg Config) (*IdP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	set, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, base, err := listen(ctx, set)
	if err != nil {
		return nil, err
	}
	p, err := newIdP(base, set, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.serve(ln)
	set.logger.Info("dev IdP started", "issuer", p.issuer, "users", len(cfg.Users), "clients", len(cfg.Clients))
	if p.console != nil {
		set.logger.Info("dev IdP serves the VMware Cloud Services console", "console", base, "org", cfg.ConsoleOrgID)
	}
	return p, nil
}

// settings are a checked Config with its defaults applied.
type settings struct {
	logger     *slog.Logger
	addr       string // the listen address
	host       string // addr's loopback host, as given
	issuerPath string // normalized: "/..." without a trailing slash
	accessLife time.Duration
	idLife     time.Duration
}

// checkConfig validates cfg and applies the defaults: the IdP must listen
// on loopback, its issuer path must not clash with the console's paths,
// and it needs valid users and at least one client.
func checkConfig(cfg Config) (settings, error) {
	set := settings{logger: cfg.Logger, addr: cfg.Addr, accessLife: orDefault(cfg.AccessTokenLifetime), idLife: orDefault(cfg.IDTokenLifetime)}
	if set.logger == nil {
		set.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if set.addr == "" {
		set.addr = defaultAddr
	}
	var err error
	if set.host, err = loopbackHost(set.addr); err != nil {
		return settings{}, err
	}
	if set.issuerPath, err = normalizeIssuerPath(cfg.IssuerPath); err != nil {
		return settings{}, err
	}
	if cfg.ConsoleOrgID != "" && (set.issuerPath == "" || set.issuerPath == "/csp" || strings.HasPrefix(set.issuerPath, "/csp/")) {
		return settings{}, fmt.Errorf("dev IdP: issuer path %q clashes with the CSP endpoints at the root; use another IssuerPath or no ConsoleOrgID", cfg.IssuerPath)
	}
	if err := validateUsers(cfg.Users); err != nil {
		return settings{}, fmt.Errorf("dev IdP users: %w", err)
	}
	if len(cfg.Clients) == 0 {
		return settings{}, errors.New("dev IdP: at least one client required")
	}
	return set, nil
}

// listen opens the listener and returns it with the base URL built from
// the bound port (Addr may say :0) and the host as given, so "localhost"
// stays "localhost" for cookies and URLs.
func listen(ctx context.Context, set settings) (net.Listener, string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", set.addr)
	if err != nil {
		return nil, "", fmt.Errorf("dev IdP: listen on %s: %w", set.addr, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, "http://" + net.JoinHostPort(set.host, port), nil
}

// newIdP builds the VCF SSO instance at base+issuerPath and, with
// cfg.ConsoleOrgID, the console instance at base; it does not serve yet.
func newIdP(base string, set settings, cfg Config) (*IdP, error) {
	issuer := base + set.issuerPath
	vcf, err := newVCFInstance(issuer, set, cfg.Users, cfg.Clients)
	if err != nil {
		return nil, err
	}
	bc, err := backchannelURIs(cfg.Clients)
	if err != nil {
		return nil, err
	}
	p := &IdP{
		issuer:       issuer,
		issuerPath:   set.issuerPath,
		consoleURL:   base,
		consoleOrgID: cfg.ConsoleOrgID,
		vcf:          vcf,
		log:          set.logger,
		served:       make(chan struct{}),
		backchannel:  bc,
	}
	vcf.store.onEndSession = p.sendBackchannelLogouts
	if cfg.ConsoleOrgID != "" {
		if p.console, err = newConsoleInstance(base, cfg.ConsoleOrgID, vcf.store, set.logger); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newVCFInstance builds the VCF SSO op instance at issuer: a fresh signing
// key, the users, and the clients as confidential clients.
func newVCFInstance(issuer string, set settings, userList []User, clients []Client) (*instance, error) {
	kid, key, err := newKey()
	if err != nil {
		return nil, err
	}
	users := make(map[string]User, len(userList))
	for _, u := range userList {
		users[u.Username] = u
	}
	store := newStorage(users, key, kid, set.accessLife)
	loginURL := func(id string) string {
		return issuer + loginPath + "?authRequestID=" + id
	}
	for _, c := range clients {
		cl, err := newClient(c, loginURL, set.idLife)
		if err != nil {
			return nil, fmt.Errorf("dev IdP: %w", err)
		}
		if _, dup := store.clients[cl.id]; dup {
			return nil, fmt.Errorf("dev IdP: duplicate client %s", cl.id)
		}
		store.clients[cl.id] = cl
	}
	provider, err := newOP(issuer, store, &op.Config{
		CryptoKeyId:              "devidp",
		DefaultLogoutRedirectURI: issuer + loggedOutPath,
		AuthMethodPost:           true,
	}, []string{"name", "user_name", "acct"})
	if err != nil {
		return nil, fmt.Errorf("dev IdP: %w", err)
	}
	return &instance{
		product:    "VMware VCF SSO",
		issuer:     issuer,
		store:      store,
		provider:   provider,
		loginURL:   issuer + loginPath,
		cookieName: sessionCookie,
		cookiePath: cookiePath(set.issuerPath),
		log:        set.logger,
	}, nil
}

// newOP makes an op.Provider for issuer over store, with a fresh crypto key
// (for op's codes and opaque access tokens) and what both instances share:
// S256 PKCE, refresh tokens, the standard scopes and claims. cfg supplies
// the rest; claims are the instance's own claims beyond the standard ones,
// and opts its endpoints where they are not op's defaults.
func newOP(issuer string, store *storage, cfg *op.Config, claims []string, opts ...op.Option) (*op.Provider, error) {
	cryptoKey, err := newCryptoKey()
	if err != nil {
		return nil, err
	}
	cfg.CryptoKey = cryptoKey
	cfg.CodeMethodS256 = true
	cfg.GrantTypeRefreshToken = true
	cfg.SupportedUILocales = []language.Tag{language.English}
	cfg.SupportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess}
	cfg.SupportedClaims = append([]string{
		"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr",
		"at_hash", "c_hash", "azp",
	}, claims...)
	opts = append([]op.Option{op.WithAllowInsecure()}, opts...)
	return op.NewProvider(cfg, store, op.StaticIssuer(issuer), opts...)
}

// serve serves p's routes on ln in a goroutine until Close.
func (p *IdP) serve(ln net.Listener) {
	p.srv = &http.Server{
		Handler:           p.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(p.served)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("dev IdP stopped", "error", err)
		}
	}()
}

// cookiePath scopes the VCF SSO cookie to the issuer, where the
// authorization and end-session endpoints live.
func cookiePath(issuerPath string) string {
	if issuerPath == "" {
		return "/"
	}
	return issuerPath
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultLifetime
	}
	return d
}

// loopbackHost returns the host part of addr if it is a loopback host, and
// an error naming addr otherwise: the IdP must never be reachable from the
// network.
func loopbackHost(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("dev IdP: invalid listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return "localhost", nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ip.String(), nil
	}
	return "", fmt.Errorf("dev IdP: listen address %q is not a loopback address (use 127.0.0.1, ::1 or localhost)", addr)
}

// normalizeIssuerPath makes the issuer path start with "/" and end without
// one, since the issuer must equal the discovery document's "issuer" exactly.
func normalizeIssuerPath(p string) (string, error) {
	if p == "" {
		return defaultIssuerPath, nil
	}
	if strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("dev IdP: issuer path %q must not contain a query or fragment", p)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return strings.TrimRight(p, "/"), nil
}

// routes serves the login UI at <issuer>/login and the OP under the issuer
// path. The OP's router is built for paths relative to the issuer, hence the
// prefix stripping. With CSP enabled, the CSP instance is served at the root
// (see consoleRoutes).
func (p *IdP) routes() http.Handler {
	mux := http.NewServeMux()
	in := p.vcf
	interceptor := op.NewIssuerInterceptor(in.provider.IssuerFromRequest)
	mux.Handle(p.issuerPath+loginPath, interceptor.Handler(http.HandlerFunc(in.login)))
	mux.HandleFunc(p.issuerPath+loggedOutPath, p.loggedOut)
	opHandler := in.withSession(in.provider)
	if p.issuerPath == "" {
		mux.Handle("/", opHandler)
	} else {
		mux.Handle(p.issuerPath+"/", http.StripPrefix(p.issuerPath, opHandler))
	}
	if p.console != nil {
		p.consoleRoutes(mux)
	}
	return mux
}

// withSession puts the browser's SSO session (from its cookie) into the
// request context, where the storage looks for it on authorization and
// end-session requests.
func (in *instance) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(in.cookieName); err == nil && c.Value != "" {
			if sess, ok := in.store.session(c.Value); ok {
				r = r.WithContext(withSession(r.Context(), sess))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Issuer returns the issuer URL, e.g. "http://127.0.0.1:5556/acs/t/CUSTOMER",
// exactly as the "issuer" of the discovery document at
// Issuer()+"/.well-known/openid-configuration" (no trailing slash).
func (p *IdP) Issuer() string { return p.issuer }

// Close stops the server, waiting briefly for requests in flight, and
// returns once it no longer serves. Calling it again returns the first
// result.
func (p *IdP) Close() error {
	p.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.srv.Shutdown(ctx); err != nil {
			p.closeErr = p.srv.Close()
		}
		<-p.served
		p.log.Info("dev IdP stopped", "issuer", p.issuer)
	})
	return p.closeErr
}

// SigningKey returns the key ID and RSA private key that sign ID tokens
// (RS256), so tests can re-sign tampered tokens with a valid signature.
func (p *IdP) SigningKey() (kid string, key *rsa.PrivateKey) {
	return p.vcf.store.kid, p.vcf.store.key
}

// Revoked reports whether refreshToken was revoked at the revocation
// endpoint (RFC 7009). Refresh tokens that merely expired are not reported.
func (p *IdP) Revoked(refreshToken string) bool {
	p.vcf.store.mu.Lock()
	defer p.vcf.store.mu.Unlock()
	return p.vcf.store.revoked[refreshToken]
}
