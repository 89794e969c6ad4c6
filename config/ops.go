package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults of the gatehouse.* operations keys.
const (
	// DefaultMetricsListen is where /metrics, /healthz and /readyz are
	// served unless gatehouse.metrics.listen says otherwise.
	DefaultMetricsListen = ":9464"
	// DefaultShutdownGracePeriod is how long in-flight requests may run
	// after SIGTERM. Kubernetes kills a pod 30 s after SIGTERM by default.
	DefaultShutdownGracePeriod = 25 * time.Second
)

// Ops holds Gatehouse's own operations settings, under the top-level
// `gatehouse` key (Backstage ignores it):
//
//	gatehouse:
//	  metrics:
//	    enabled: true          # default true
//	    listen: ":9464"        # "<port>" or "<host>:<port>"
//	  shutdown:
//	    gracePeriod: { seconds: 25 }
//	  logging:
//	    format: json           # text (default) or json
//	    level: info            # debug, info, warn, error
type Ops struct {
	// MetricsEnabled is gatehouse.metrics.enabled (default true).
	MetricsEnabled bool
	// MetricsListen is gatehouse.metrics.listen as "host:port"; the host
	// may be empty (all interfaces).
	MetricsListen string
	// ShutdownGracePeriod is gatehouse.shutdown.gracePeriod.
	ShutdownGracePeriod time.Duration
	// LogFormat is gatehouse.logging.format: "text", "json" or "" (unset:
	// the --log-format flag decides).
	LogFormat string
	// LogLevel is gatehouse.logging.level: "debug", "info", "warn",
	// "error" or "" (info).
	LogLevel string
}

var (
	metricsKeys  = []string{"enabled", "listen"}
	shutdownKeys = []string{"gracePeriod"}
	loggingKeys  = []string{"format", "level"}
)

// decodeOps reads the `gatehouse` block. Other gatehouse.* keys belong to
// other parts of Gatehouse and are left alone here.
func (d *decoder) decodeOps(raw map[string]any, cfg *Config) {
	o := &cfg.Ops
	o.MetricsEnabled = true
	o.MetricsListen = DefaultMetricsListen
	o.ShutdownGracePeriod = DefaultShutdownGracePeriod
	g, ok := d.mapOf(raw["gatehouse"], "gatehouse")
	if !ok {
		return
	}
	if m, ok := d.mapOf(g["metrics"], "gatehouse.metrics"); ok {
		d.unknownKeys(m, "gatehouse.metrics", metricsKeys)
		if v, ok := m["enabled"]; ok && v != nil {
			if b, ok := d.boolean(v, "gatehouse.metrics.enabled"); ok {
				o.MetricsEnabled = b
			}
		}
		if v, ok := m["listen"]; ok && v != nil {
			if addr, ok := d.listenAddr(v, "gatehouse.metrics.listen"); ok {
				o.MetricsListen = addr
			}
		}
	}
	if s, ok := d.mapOf(g["shutdown"], "gatehouse.shutdown"); ok {
		d.unknownKeys(s, "gatehouse.shutdown", shutdownKeys)
		if v, ok := s["gracePeriod"]; ok && v != nil {
			if dur, ok := d.duration(v, "gatehouse.shutdown.gracePeriod"); ok {
				if dur <= 0 {
					d.add("gatehouse.shutdown.gracePeriod", "must be positive")
				} else {
					o.ShutdownGracePeriod = dur
				}
			}
		}
	}
	if l, ok := d.mapOf(g["logging"], "gatehouse.logging"); ok {
		d.unknownKeys(l, "gatehouse.logging", loggingKeys)
		if s, ok := d.str(l["format"], "gatehouse.logging.format", false); ok && s != "" {
			if s != "text" && s != "json" {
				d.add("gatehouse.logging.format", fmt.Sprintf("expected text or json, got %q", s))
			} else {
				o.LogFormat = s
			}
		}
		if s, ok := d.str(l["level"], "gatehouse.logging.level", false); ok && s != "" {
			switch strings.ToLower(s) {
			case "debug", "info", "warn", "error":
				o.LogLevel = strings.ToLower(s)
			default:
				d.add("gatehouse.logging.level", fmt.Sprintf("expected debug, info, warn or error, got %q", s))
			}
		}
	}
}

// listenAddr reads "<port>", "<host>:<port>" or a port number.
func (d *decoder) listenAddr(v any, path string) (string, bool) {
	if f, ok := toFloat(v); ok {
		if port, ok := d.port(f, path); ok {
			return ":" + strconv.Itoa(port), true
		}
		return "", false
	}
	s, ok := d.str(v, path, false)
	if !ok {
		return "", false
	}
	host, portStr := "", s
	if strings.Contains(s, ":") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			d.add(path, fmt.Sprintf("unable to parse listen address %q, expected <port> or <host>:<port>", s))
			return "", false
		}
		host, portStr = h, p
	}
	port, err := strconv.Atoi(strings.TrimSpace(portStr))
	if err != nil || port < 0 || port > 65535 {
		d.add(path, fmt.Sprintf("unable to parse listen address %q, expected <port> or <host>:<port>", s))
		return "", false
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), true
}
