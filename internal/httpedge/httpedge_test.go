package httpedge

import (
	"testing"
	"time"
)

func TestDefaultLimits(t *testing.T) {
	want := Limits{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		MaxBodyBytes: 100 << 10, MaxHeaderBytes: 64 << 10, MaxCookieChunks: 16,
	}
	if got := DefaultLimits(); got != want {
		t.Fatalf("DefaultLimits() = %+v, want %+v", got, want)
	}
}

func TestWithDefaultsKeepsSetFields(t *testing.T) {
	l := Limits{ReadTimeout: time.Second, MaxBodyBytes: 1000, MaxHeaderBytes: -1, MaxCookieChunks: 2}.WithDefaults()
	want := Limits{
		ReadHeaderTimeout: DefaultReadHeaderTimeout, ReadTimeout: time.Second, WriteTimeout: DefaultWriteTimeout, IdleTimeout: DefaultIdleTimeout,
		MaxBodyBytes: 1000, MaxHeaderBytes: DefaultMaxHeaderBytes, MaxCookieChunks: 2,
	}
	if l != want {
		t.Fatalf("WithDefaults() = %+v, want %+v", l, want)
	}
}
