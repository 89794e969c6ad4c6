package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRegister: the second registration of an equal collector gets the
// first one back, so both count in one series; a clashing one is an error.
func TestRegister(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "promreg_test_total", Help: "test"}
	first, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("second registration did not reuse the first collector")
	}

	// Same name, other help text: not the same collector, so no reuse.
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_test_total", Help: "other"})
	got, err := Register(reg, clash)
	if err == nil || got != clash {
		t.Fatalf("clashing collector: %v, %v", got, err)
	}
}
