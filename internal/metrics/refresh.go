package metrics

import "github.com/prometheus/client_golang/prometheus"

// How a refresh was answered without its own IdP call (label "how" of
// gatehouse_refresh_shared_total).
const (
	// SharedFlight: it waited for a concurrent refresh of the same refresh
	// token on this replica and shared its IdP answer (single-flight).
	SharedFlight = "flight"
	// SharedRecord: it used the answer another request (on any replica)
	// recorded for the same refresh token within the grace period.
	SharedRecord = "record"
)

func newRefreshShared() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "refresh_shared_total",
		Help: "Refreshes answered without their own IdP call, by provider and how: flight (shared a concurrent call on this replica) or record (replayed the answer recorded for the same refresh token within gatehouse.sessions.refreshGracePeriod).",
	}, []string{"provider", "how"})
}

// RefreshShared counts one refresh that used another's IdP answer; how is
// SharedFlight or SharedRecord.
func (m *Metrics) RefreshShared(provider, how string) {
	if m != nil {
		m.shared.WithLabelValues(provider, how).Inc()
	}
}
