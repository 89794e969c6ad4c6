package config

import "time"

// DefaultRefreshGracePeriod is gatehouse.sessions.refreshGracePeriod's
// default: how long the IdP's answer to a refresh stays usable by the
// other tabs and replicas holding the refresh token it spent.
const DefaultRefreshGracePeriod = 30 * time.Second

// maxRefreshGracePeriod bounds the grace period: the recorded answer lets
// a spent refresh token keep working, so the window must stay short.
const maxRefreshGracePeriod = 10 * time.Minute

// Sessions is the gatehouse.sessions block:
//
//	gatehouse:
//	  sessions:
//	    refreshGracePeriod: { seconds: 30 }   # 0 keeps no answers
type Sessions struct {
	// RefreshGracePeriod is gatehouse.sessions.refreshGracePeriod; 0 means
	// that no answers are kept (concurrent refreshes on one replica still
	// share one IdP call).
	RefreshGracePeriod time.Duration
}

var sessionsKeys = []string{"refreshGracePeriod"}

// decodeSessions reads gatehouse.sessions.
func (d *decoder) decodeSessions(raw map[string]any, cfg *Config) {
	cfg.Sessions.RefreshGracePeriod = DefaultRefreshGracePeriod
	g, ok := raw["gatehouse"].(map[string]any)
	if !ok {
		return
	}
	s, ok := d.mapOf(g["sessions"], "gatehouse.sessions")
	if !ok {
		return
	}
	d.unknownKeys(s, "gatehouse.sessions", sessionsKeys)
	const path = "gatehouse.sessions.refreshGracePeriod"
	if v, ok := s["refreshGracePeriod"]; ok && v != nil {
		if dur, ok := d.duration(v, path); ok {
			switch {
			case dur < 0:
				d.add(path, "must not be negative")
			case dur > maxRefreshGracePeriod:
				d.add(path, "must be at most 10 minutes: a recorded answer keeps a spent refresh token usable for that long")
			default:
				cfg.Sessions.RefreshGracePeriod = dur
			}
		}
	}
}
