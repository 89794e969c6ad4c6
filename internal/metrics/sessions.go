package metrics

import "github.com/prometheus/client_golang/prometheus"

// Back-channel logout results (label "result" of
// gatehouse_backchannel_logouts_total).
const (
	LogoutAccepted = "accepted" // verified and recorded: answered 200
	LogoutRefused  = "refused"  // the token failed verification: answered 400
	LogoutError    = "error"    // verified, but the record could not be stored
)

// sessionMetrics count what ends sessions and what that refuses.
type sessionMetrics struct {
	backchannel  *prometheus.CounterVec
	endedRefused *prometheus.CounterVec
}

func newSessionMetrics() *sessionMetrics {
	return &sessionMetrics{
		backchannel: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "backchannel_logouts_total",
			Help: "Back-channel logout requests (/backchannel-logout) by provider and result (accepted, refused, error).",
		}, []string{"provider", "result"}),
		endedRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "refreshes_refused_ended_total",
			Help: "Refreshes refused because the session had ended (back-channel logout or `gatehouse sessions revoke`), by provider.",
		}, []string{"provider"}),
	}
}

func (s *sessionMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.backchannel, s.endedRefused}
}

// BackchannelLogout counts one back-channel logout request; result is a
// Logout* constant.
func (m *Metrics) BackchannelLogout(provider, result string) {
	if m != nil {
		m.sessions.backchannel.WithLabelValues(provider, result).Inc()
	}
}

// RefreshRefusedEnded counts one refresh refused because its session had
// ended.
func (m *Metrics) RefreshRefusedEnded(provider string) {
	if m != nil {
		m.sessions.endedRefused.WithLabelValues(provider).Inc()
	}
}
