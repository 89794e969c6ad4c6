// Package promreg registers Prometheus collectors so that a second
// component built on the same registry shares the first one's collectors.
// It is a leaf package: catalog cannot import metrics (metrics depends on
// catalog through resolvers), so the helper lives here for both.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg. When reg already holds an equal collector
// of the same type, that one is returned instead, with no error, so the
// caller keeps counting in it. Any other failure returns c and the
// registry's error, unwrapped, for the caller to word.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
