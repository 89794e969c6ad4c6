package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

func TestRefreshShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m.RefreshShared("vcfsso", metrics.SharedFlight)
	m.RefreshShared("vcfsso", metrics.SharedFlight)
	m.RefreshShared("vcfsso", metrics.SharedRecord)
	var nilM *metrics.Metrics
	nilM.RefreshShared("vcfsso", metrics.SharedFlight) // records nothing, no panic
	for how, want := range map[string]float64{metrics.SharedFlight: 2, metrics.SharedRecord: 1} {
		n, err := gatherCounter(reg, "gatehouse_refresh_shared_total", map[string]string{"provider": "vcfsso", "how": how})
		if err != nil || n != want {
			t.Errorf("gatehouse_refresh_shared_total{how=%q} = %v (%v), want %v", how, n, err, want)
		}
	}
}

func gatherCounter(reg *prometheus.Registry, name string, labels map[string]string) (float64, error) {
	fams, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue(), nil
		}
	}
	return 0, nil
}
