// Package devidp is the dev and test OpenID provider: a real OP built on
// github.com/zitadel/oidc/v3/pkg/op that plays VMware VCF SSO. It serves
// VCF SSO's issuer path (/acs/t/CUSTOMER), puts VCF SSO's claims (sub,
// user_name, acct, name, and no email) in ID tokens and userinfo, and keeps
// everything in memory. Tests run it in-process; `gatehouse dev` runs it next
// to Gatehouse. It only listens on loopback addresses, because its users and
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
	issuer     string
	issuerPath string
	srv        *http.Server
	store      *storage
	provider   *op.Provider
	log        *slog.Logger

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// Start validates cfg, makes a fresh 2048-bit RSA signing key, listens on
// cfg.Addr and serves the OP in a goroutine. When it returns without error
// the listener is open, so requests to Issuer() succeed at once. ctx bounds
// only the start-up; stop the IdP with Close.
func Start(ctx context.Context, cfg Config) (*IdP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	addr := cfg.Addr
	if addr == "" {
		addr = defaultAddr
	}
	host, err := loopbackHost(addr)
	if err != nil {
		return nil, err
	}
	issuerPath, err := normalizeIssuerPath(cfg.IssuerPath)
	if err != nil {
		return nil, err
	}
	if err := validateUsers(cfg.Users); err != nil {
		return nil, fmt.Errorf("dev IdP users: %w", err)
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("dev IdP: at least one client required")
	}
	accessLife := orDefault(cfg.AccessTokenLifetime)
	idLife := orDefault(cfg.IDTokenLifetime)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("dev IdP: signing key: %w", err)
	}
	kidBytes := make([]byte, 8)
	if _, err := rand.Read(kidBytes); err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev IdP: listen on %s: %w", addr, err)
	}
	// Build the issuer from the bound port (Addr may say :0) but keep the
	// host as given, so "localhost" stays "localhost" for cookies and URLs.
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	issuer := "http://" + net.JoinHostPort(host, port) + issuerPath

	store := &storage{
		users:         make(map[string]User, len(cfg.Users)),
		clients:       make(map[string]*client, len(cfg.Clients)),
		key:           key,
		kid:           hex.EncodeToString(kidBytes),
		accessLife:    accessLife,
		authRequests:  make(map[string]*authRequest),
		codes:         make(map[string]string),
		accessTokens:  make(map[string]*accessToken),
		refreshTokens: make(map[string]*refreshToken),
		revoked:       make(map[string]bool),
		sessions:      make(map[string]*ssoSession),
	}
	for _, u := range cfg.Users {
		store.users[u.Username] = u
	}
	loginURL := func(id string) string {
		return issuer + loginPath + "?authRequestID=" + id
	}
	for _, c := range cfg.Clients {
		cl, err := newClient(c, loginURL, idLife)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("dev IdP: %w", err)
		}
		if _, dup := store.clients[cl.id]; dup {
			ln.Close()
			return nil, fmt.Errorf("dev IdP: duplicate client %s", cl.id)
		}
		store.clients[cl.id] = cl
	}

	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              "devidp",
		DefaultLogoutRedirectURI: issuer + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess,
		},
		SupportedClaims: []string{
			"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr",
			"at_hash", "c_hash", "azp", "name", "user_name", "acct",
		},
	}, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("dev IdP: %w", err)
	}

	p := &IdP{
		issuer:     issuer,
		issuerPath: issuerPath,
		store:      store,
		provider:   provider,
		log:        logger,
		served:     make(chan struct{}),
	}
	p.srv = &http.Server{
		Handler:           p.routes(issuerPath),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(p.served)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("dev IdP stopped", "error", err)
		}
	}()
	logger.Info("dev IdP started", "issuer", issuer, "users", len(cfg.Users), "clients", len(cfg.Clients))
	return p, nil
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
// prefix stripping.
func (p *IdP) routes(issuerPath string) http.Handler {
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(p.provider.IssuerFromRequest)
	mux.Handle(issuerPath+loginPath, interceptor.Handler(http.HandlerFunc(p.login)))
	mux.HandleFunc(issuerPath+loggedOutPath, p.loggedOut)
	opHandler := p.withSession(p.provider)
	if issuerPath == "" {
		mux.Handle("/", opHandler)
	} else {
		mux.Handle(issuerPath+"/", http.StripPrefix(issuerPath, opHandler))
	}
	return mux
}

// withSession puts the browser's SSO session (from its cookie) into the
// request context, where the storage looks for it on authorization and
// end-session requests.
func (p *IdP) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if sess, ok := p.store.session(c.Value); ok {
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
	return p.store.kid, p.store.key
}

// Revoked reports whether refreshToken was revoked at the revocation
// endpoint (RFC 7009). Refresh tokens that merely expired are not reported.
func (p *IdP) Revoked(refreshToken string) bool {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return p.store.revoked[refreshToken]
}
