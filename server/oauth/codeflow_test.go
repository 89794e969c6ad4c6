package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-auth/gatehouse/identity"
)

// This file drives the consent half of the flow directly against the
// store (the authorize and consent routes are tested on their own): an
// AuthSession created, approved and turned into a code, as /v1/authorize
// and /v1/sessions/:id/approve would leave them.

const (
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	testRedirect  = "http://127.0.0.1:8055/callback"
	tokenPath     = "/api/auth/v1/token"
	revokePath    = "/api/auth/v1/revoke"
	registerPath  = "/api/auth/v1/register"
)

// grant describes an approved authorization.
type grant struct {
	ClientID, RedirectURI, Scope, Resource string
	Challenge, Method                      string
	User                                   string
	// Status overrides AuthApproved (e.g. AuthRejected).
	Status string
}

// defaults fills what the test left empty: the CIMD test client, S256,
// openid offline_access, alice.
func (g grant) defaults() grant {
	if g.ClientID == "" {
		g.ClientID = testCIMDClient
	}
	if g.RedirectURI == "" {
		g.RedirectURI = testRedirect
	}
	if g.Scope == "" {
		g.Scope = "openid offline_access"
	}
	if g.Challenge == "" {
		g.Challenge, g.Method = testChallenge, "S256"
	}
	if g.User == "" {
		g.User = testUser
	}
	return g
}

// approvedCode creates, approves and codes an authorization session and
// returns the code in the clear.
func (h *harness) approvedCode(g grant) string {
	h.t.Helper()
	return h.approvedCodeIn(h.store, g)
}

// approvedCodeIn is approvedCode on another store (one shared by replicas).
func (h *harness) approvedCodeIn(st identity.OAuthStore, g grant) string {
	h.t.Helper()
	g = g.defaults()
	ctx := context.Background()
	sid := uuid.NewString()
	now := h.clock.Now()
	err := st.CreateAuthSession(ctx, identity.AuthSession{ID: sid, ClientID: g.ClientID, RedirectURI: g.RedirectURI,
		Scope: g.Scope, CodeChallenge: g.Challenge, CodeChallengeMethod: g.Method, State: "st", Resource: g.Resource,
		Expires: now.Add(AuthSessionLifetime)})
	if err != nil {
		h.t.Fatal(err)
	}
	switch g.Status {
	case "", identity.AuthApproved:
		_, err = st.ApproveAuthSession(ctx, sid, g.User, now)
	case identity.AuthRejected:
		_, err = st.RejectAuthSession(ctx, sid, g.User, now)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	code, err := randomSecret()
	if err != nil {
		h.t.Fatal(err)
	}
	user := g.User
	if g.Status == identity.AuthPending {
		user = ""
	}
	if err := st.CreateCode(ctx, identity.AuthCode{Hash: identity.HashSecret(code), SessionID: sid, ClientID: g.ClientID,
		RedirectURI: g.RedirectURI, UserEntityRef: user, Expires: now.Add(CodeLifetime)}); err != nil {
		h.t.Fatal(err)
	}
	return code
}

// registerClient registers a DCR client with body's members (default: one
// loopback redirect URI) and returns its id and secret.
func (h *harness) registerClient(body map[string]any) (id, secret string) {
	h.t.Helper()
	if body == nil {
		body = map[string]any{"client_name": "Demo", "redirect_uris": []string{testRedirect}}
	}
	r := h.postJSON(registerPath, body)
	if r.Status != 201 {
		h.t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	m := r.JSON(h.t)
	return m["client_id"].(string), m["client_secret"].(string)
}

// exchange posts the CLI's JSON body for code (plus extra members).
func (h *harness) exchange(code string, extra map[string]any, headers ...string) response {
	body := map[string]any{"grant_type": "authorization_code", "code": code, "redirect_uri": testRedirect, "code_verifier": testVerifier}
	for k, v := range extra {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return h.postJSON(tokenPath, body, headers...)
}

// tokens runs a whole grant for g and returns the token answer.
func (h *harness) tokens(g grant, extra map[string]any, headers ...string) map[string]any {
	h.t.Helper()
	r := h.exchange(h.approvedCode(g), merge(map[string]any{"redirect_uri": g.defaults().RedirectURI}, extra), headers...)
	if r.Status != 200 {
		h.t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	return r.JSON(h.t)
}

// refresh posts the CLI's JSON refresh body.
func (h *harness) refresh(rt string, headers ...string) response {
	return h.postJSON(tokenPath, map[string]any{"grant_type": "refresh_token", "refresh_token": rt}, headers...)
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// basic is an Authorization header value, each half form-encoded as
// RFC 6749 §2.3.1 asks.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// s256 is the S256 challenge of a verifier.
func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestS256Vector(t *testing.T) {
	if s256(testVerifier) != testChallenge {
		t.Fatal("RFC 7636 appendix B vector")
	}
}
