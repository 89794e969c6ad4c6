package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

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
	none.SignIn("p", "success")
	none.Refresh("p", "error")
	none.Step("p", metrics.StepResolve, time.Millisecond)
	none.Resolver("r", metrics.KindBuiltin, time.Millisecond, nil)
	none.KeyRotated()
	none.HTTPRequest("", "GET", 200, time.Millisecond)
	if none.IdPTransport("p", nil) != http.DefaultTransport {
		t.Error("a nil Metrics wrapped the transport")
	}
}

// SignIn and Refresh record the result label their caller classified.
func TestOutcomeLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m.SignIn("vcfsso", "not_found")
	m.SignIn("vcfsso", "not_found")
	m.Refresh("oidc", "idp_error")
	got := counterValues(t, reg)
	if got["gatehouse_sign_ins_total provider=vcfsso result=not_found"] != 2 || got["gatehouse_refreshes_total provider=oidc result=idp_error"] != 1 {
		t.Errorf("outcome counters = %v", got)
	}
}
