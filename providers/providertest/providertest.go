// Package providertest is a configurable in-memory identity provider for
// testing what sits around a provider (the server's wire protocol, metrics,
// wiring) without an IdP, in the shape of Dex's connector/mock.
//
// A Provider implements providers.Provider, providers.Refresher and
// providers.LogoutHandler. Use Basic when the code under test must see a
// provider without the optional capabilities.
package providertest

import (
	"context"
	"net/url"
	"sync"

	"github.com/gatehouse-auth/gatehouse/providers"
)

// Calls records what the provider was asked, in order per method.
type Calls struct {
	Start        []providers.StartRequest
	Authenticate []providers.CallbackRequest
	Refresh      []providers.RefreshRequest
	// Logout holds the requests Logout was called with.
	Logout []providers.LogoutRequest
}

// Provider is a fake provider. Set its fields before handing it to the code
// under test; it is then safe for concurrent use.
//
// Guarantees:
//   - AuthorizationURL returns StartErr if set; else it fills the
//     transaction with Transaction and returns AuthURL (default
//     "https://idp.example/authorize") with the request's state and scope
//     added as the "state" and "scope" query parameters.
//   - Authenticate returns AuthErr if set; else, when the callback's
//     transaction differs from Transaction, an error; else a copy of Result.
//   - Refresh returns RefreshErr if set; else a copy of RefreshResult, or of
//     Result when RefreshResult is nil.
//   - Logout returns LogoutURL and LogoutErr.
//   - Every call is recorded, before its answer, in Calls().
//   - Result copies share their maps with the configured Result; callers
//     must not write them.
type Provider struct {
	ScopeConfig providers.Scopes
	AuthURL     string
	Transaction providers.Transaction
	StartErr    error

	Result  *providers.Result
	AuthErr error

	RefreshResult *providers.Result
	RefreshErr    error

	LogoutURL string
	LogoutErr error

	mu    sync.Mutex
	calls Calls
}

var (
	_ providers.Provider      = (*Provider)(nil)
	_ providers.Refresher     = (*Provider)(nil)
	_ providers.LogoutHandler = (*Provider)(nil)
)

// DefaultResult is a successful sign-in of alice@example.com with a refresh
// token, for tests that do not care about the details.
func DefaultResult() *providers.Result {
	return &providers.Result{
		Session: providers.Session{
			AccessToken:      "access-1",
			TokenType:        "Bearer",
			IDToken:          "id-1",
			RefreshToken:     "refresh-1",
			Scope:            "openid profile email",
			ExpiresInSeconds: 3600,
		},
		IDTokenClaims: map[string]any{"sub": "alice", "email": "alice@example.com", "name": "Alice Example"},
	}
}

// New returns a provider answering DefaultResult with the nonce "nonce-1".
func New() *Provider {
	return &Provider{Result: DefaultResult(), Transaction: providers.Transaction{Nonce: "nonce-1"}}
}

// Calls returns a copy of the calls recorded so far.
func (p *Provider) Calls() Calls {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Calls{
		Start:        append([]providers.StartRequest(nil), p.calls.Start...),
		Authenticate: append([]providers.CallbackRequest(nil), p.calls.Authenticate...),
		Refresh:      append([]providers.RefreshRequest(nil), p.calls.Refresh...),
		Logout:       append([]providers.LogoutRequest(nil), p.calls.Logout...),
	}
}

// Scopes returns ScopeConfig.
func (p *Provider) Scopes() providers.Scopes { return p.ScopeConfig }

// AuthorizationURL implements providers.Provider.
func (p *Provider) AuthorizationURL(_ context.Context, req providers.StartRequest) (string, error) {
	p.mu.Lock()
	// The recorded copy drops the pointer: it is the caller's.
	rec := req
	rec.Transaction = nil
	p.calls.Start = append(p.calls.Start, rec)
	p.mu.Unlock()
	if p.StartErr != nil {
		return "", p.StartErr
	}
	if req.Transaction != nil {
		*req.Transaction = p.Transaction
	}
	base := p.AuthURL
	if base == "" {
		base = "https://idp.example/authorize"
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("state", req.State)
	q.Set("scope", req.Scope)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Authenticate implements providers.Provider.
func (p *Provider) Authenticate(_ context.Context, req providers.CallbackRequest) (*providers.Result, error) {
	p.mu.Lock()
	p.calls.Authenticate = append(p.calls.Authenticate, req)
	p.mu.Unlock()
	if p.AuthErr != nil {
		return nil, p.AuthErr
	}
	if req.Transaction != p.Transaction {
		return nil, errTransaction
	}
	return copyResult(p.Result), nil
}

// Refresh implements providers.Refresher.
func (p *Provider) Refresh(_ context.Context, req providers.RefreshRequest) (*providers.Result, error) {
	p.mu.Lock()
	p.calls.Refresh = append(p.calls.Refresh, req)
	p.mu.Unlock()
	if p.RefreshErr != nil {
		return nil, p.RefreshErr
	}
	if p.RefreshResult != nil {
		return copyResult(p.RefreshResult), nil
	}
	return copyResult(p.Result), nil
}

// Logout implements providers.LogoutHandler.
func (p *Provider) Logout(_ context.Context, req providers.LogoutRequest) (string, error) {
	p.mu.Lock()
	p.calls.Logout = append(p.calls.Logout, req)
	p.mu.Unlock()
	return p.LogoutURL, p.LogoutErr
}

type transactionError struct{}

func (transactionError) Error() string {
	return "providertest: the callback's transaction is not the one given at start"
}

// errTransaction is Authenticate's answer to a transaction that did not
// round-trip; IsTransactionMismatch reports it.
var errTransaction error = transactionError{}

// IsTransactionMismatch reports whether err is Authenticate's answer to a
// transaction that differs from the one handed out at start.
func IsTransactionMismatch(err error) bool { return err == errTransaction }

func copyResult(r *providers.Result) *providers.Result {
	if r == nil {
		return &providers.Result{}
	}
	c := *r
	return &c
}

// Basic is a provider with only the required methods: it hides the
// optional capabilities (Refresher, LogoutHandler) of the Provider it wraps.
type Basic struct{ P *Provider }

var _ providers.Provider = Basic{}

// Scopes implements providers.Provider.
func (b Basic) Scopes() providers.Scopes { return b.P.Scopes() }

// AuthorizationURL implements providers.Provider.
func (b Basic) AuthorizationURL(ctx context.Context, req providers.StartRequest) (string, error) {
	return b.P.AuthorizationURL(ctx, req)
}

// Authenticate implements providers.Provider.
func (b Basic) Authenticate(ctx context.Context, req providers.CallbackRequest) (*providers.Result, error) {
	return b.P.Authenticate(ctx, req)
}
