package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

func TestSessionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m.BackchannelLogout("vcfsso", metrics.LogoutAccepted)
	m.BackchannelLogout("vcfsso", metrics.LogoutRefused)
	m.BackchannelLogout("vcfsso", metrics.LogoutRefused)
	m.RefreshRefusedEnded("vcfsso")
	got := counterValues(t, reg)
	for k, want := range map[string]float64{
		"gatehouse_backchannel_logouts_total provider=vcfsso result=accepted": 1,
		"gatehouse_backchannel_logouts_total provider=vcfsso result=refused":  2,
		"gatehouse_refreshes_refused_ended_total provider=vcfsso":             1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	var none *metrics.Metrics
	none.BackchannelLogout("p", metrics.LogoutError)
	none.RefreshRefusedEnded("p")
}

// counterValues gathers reg's counters as "name label=value ..." → value.
func counterValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			if mt.GetCounter() != nil {
				got[key] = mt.GetCounter().GetValue()
			}
		}
	}
	return got
}
