package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/health"
)

func TestReadyReportsEachCheck(t *testing.T) {
	c := &health.Checks{Timeout: 100 * time.Millisecond}
	c.Add("ok", func(context.Context) error { return nil })
	c.Add("down", func(context.Context) error { return errors.New("the database is not available") })
	c.Add("hangs", func(ctx context.Context) error { <-ctx.Done(); time.Sleep(time.Second); return nil })

	rec := httptest.NewRecorder()
	start := time.Now()
	c.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Errorf("a hanging check held /readyz for %v", d)
	}
	var rep health.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 503 || rep.Status != "not ready" || len(rep.Checks) != 3 {
		t.Fatalf("%d %+v", rec.Code, rep)
	}
	want := []health.Result{{Name: "ok", OK: true}, {Name: "down", Reason: "the database is not available"}, {Name: "hangs", Reason: "context deadline exceeded"}}
	for i, r := range rep.Checks {
		if r != want[i] {
			t.Errorf("check %d = %+v, want %+v", i, r, want[i])
		}
	}
}

func TestStoppingAndLive(t *testing.T) {
	c := &health.Checks{}
	c.Add("ok", func(context.Context) error { return nil })
	rec := httptest.NewRecorder()
	c.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("ready: %d %s", rec.Code, rec.Body)
	}
	c.Stopping("shutting down")
	rec = httptest.NewRecorder()
	c.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var rep health.Report
	_ = json.Unmarshal(rec.Body.Bytes(), &rep)
	if rec.Code != 503 || rep.Reason != "shutting down" {
		t.Errorf("stopping: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	health.LiveHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != "{\"status\":\"alive\"}\n" {
		t.Errorf("healthz: %d %q", rec.Code, rec.Body)
	}
}
