package metrics_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/autherr"
	"github.com/gatehouse-auth/gatehouse/metrics"
	"github.com/gatehouse-auth/gatehouse/resolvers"
)

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
		{metrics.AtStage(metrics.StageIdP, autherr.Authentication("invalid_grant")), "idp_error"},
		{metrics.AtStage(metrics.StageIdP, autherr.NotAllowed("ID token organizationId mismatch")), "not_allowed"},
		{metrics.AtStage(metrics.StageTransform, errors.New("x")), "transform_error"},
		{metrics.AtStage(metrics.StageResolve, autherr.NotFound("x")), "not_found"},
		{metrics.AtStage(metrics.StageResolve, unresolved), "not_found"},
		{metrics.AtStage(metrics.StageResolve, autherr.NotAllowed("domain")), "not_allowed"},
		{metrics.AtStage(metrics.StageResolve, autherr.Conflict("two users")), "conflict"},
		{metrics.AtStage(metrics.StageResolve, errors.New("wasm trap")), "resolver_error"},
		{metrics.AtStage(metrics.StageToken, errors.New("store down")), "token_error"},
		// The first stage wins, and marking keeps the message and name.
		{metrics.AtStage(metrics.StageToken, metrics.AtStage(metrics.StageIdP, errors.New("x"))), "idp_error"},
	} {
		if got := metrics.ResultOf(c.err); got != c.want {
			t.Errorf("ResultOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	e := autherr.NotFound("no such user")
	if m := metrics.AtStage(metrics.StageResolve, e); m.Error() != e.Error() || autherr.NameOf(m) != autherr.NameNotFound || !errors.Is(m, e) {
		t.Errorf("AtStage changed the error: %v", m)
	}
	if metrics.AtStage(metrics.StageIdP, nil) != nil {
		t.Error("AtStage(nil) is not nil")
	}
}

func TestEndpointOf(t *testing.T) {
	for path, want := range map[string]string{
		"/acs/t/CUSTOMER/.well-known/openid-configuration": "discovery",
		"/acs/t/CUSTOMER/oauth/token":                      "token",
		"/csp/gateway/am/api/auth/authorize":               "other",
		"/csp/gateway/am/api/auth/api-tokens/authorize":    "token",
		"/csp/gateway/am/api/auth/token":                   "token",
		"/csp/gateway/am/api/auth/token-public-key":        "jwks",
		"/oauth/v2/keys":                                   "jwks",
		"/userinfo":                                        "userinfo",
		"/oauth/v2/revoke":                                 "revocation",
		"/protocol/openid-connect/certs":                   "jwks",
		"/some/where/else":                                 "other",
	} {
		if got := metrics.EndpointOf(path); got != want {
			t.Errorf("EndpointOf(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestIdPTransportAndNilMetrics(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer idp.Close()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := m.IdPClient("vcfsso", &http.Client{Timeout: time.Second})
	if c.Timeout != time.Second {
		t.Error("IdPClient dropped the client's timeout")
	}
	resp, err := c.Get(idp.URL + "/oauth/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	idp.Close()
	_, _ = c.Get(idp.URL + "/userinfo")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "gatehouse_idp_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"endpoint=token provider=vcfsso status=418 ":      1,
		"endpoint=userinfo provider=vcfsso status=error ": 1,
	}
	if len(got) != len(want) || got["endpoint=token provider=vcfsso status=418 "] != 1 || got["endpoint=userinfo provider=vcfsso status=error "] != 1 {
		t.Errorf("gatehouse_idp_requests_total = %v, want %v", got, want)
	}
	if _, err := metrics.New(reg, metrics.Options{}); err == nil {
		t.Error("registering twice on one registry succeeded")
	}

	// A nil *Metrics records nothing and never panics.
	var none *metrics.Metrics
	none.SignIn("p", nil)
	none.Refresh("p", errors.New("x"))
	none.Step("p", metrics.StepResolve, time.Millisecond)
	none.Resolver("r", metrics.KindBuiltin, time.Millisecond, nil)
	none.KeyRotated()
	none.HTTPRequest("", "GET", 200, time.Millisecond)
	if none.IdPTransport("p", nil) != http.DefaultTransport {
		t.Error("a nil Metrics wrapped the transport")
	}
}
