package server

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/autherr"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

// TestResultOf: resultOf is the server's classification of outcomes, which it
// hands to the metrics and writes in its log lines.
func TestResultOf(t *testing.T) {
	// The chain's real "unable to resolve" answer: an empty chain gives it.
	chain, err := resolvers.NewChain(nil, nil, resolvers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, unresolved := chain.Resolve(t.Context(), resolvers.SignInInput{})
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "success"},
		{autherr.Input("Missing session cookie"), "bad_request"},
		{autherr.NotAllowed("Invalid nonce"), "not_allowed"},
		{autherr.Authentication("x"), "unauthenticated"},
		{autherr.ServiceUnavailable("discovery failed"), "unavailable"},
		{errors.New("boom"), "error"},
		{atStage(stageIdP, autherr.Authentication("invalid_grant")), "idp_error"},
		{atStage(stageIdP, autherr.NotAllowed("ID token organizationId mismatch")), "not_allowed"},
		{atStage(stageTransform, errors.New("x")), "transform_error"},
		{atStage(stageResolve, autherr.NotFound("x")), "not_found"},
		{atStage(stageResolve, unresolved), "not_found"},
		{atStage(stageResolve, autherr.NotAllowed("domain")), "not_allowed"},
		{atStage(stageResolve, autherr.Conflict("two users")), "conflict"},
		{atStage(stageResolve, errors.New("wasm trap")), "resolver_error"},
		{atStage(stageToken, errors.New("store down")), "token_error"},
		// The first stage wins, and marking keeps the message and name.
		{atStage(stageToken, atStage(stageIdP, errors.New("x"))), "idp_error"},
	} {
		if got := resultOf(c.err); got != c.want {
			t.Errorf("resultOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	e := autherr.NotFound("no such user")
	if m := atStage(stageResolve, e); m.Error() != e.Error() || autherr.NameOf(m) != autherr.NameNotFound || !errors.Is(m, e) {
		t.Errorf("atStage changed the error: %v", m)
	}
	if atStage(stageIdP, nil) != nil {
		t.Error("atStage(nil) is not nil")
	}
}
