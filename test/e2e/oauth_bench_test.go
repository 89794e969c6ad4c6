package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/identity/sqlstore"
)

// BenchmarkOAuthRefreshGrant is issue 14's "CPU per refresh grant" (aim:
// below 0.5 ms; Backstage spends scrypt N=16384 on each): the Backstage
// CLI's refresh (JSON, no client_id) against a gateway on SQLite, each
// grant with the token the previous one returned, so every iteration
// rotates the refresh session, records the grace answer, checks the
// catalog and signs an access token. cpu-ms/op is the process's user+system
// CPU (getrusage) over the loop, divided by the grants.
//
// "http" goes over real HTTP on loopback, so its CPU includes the test's
// own client (request, JSON decoding); "handler" serves each request
// in-process through the gateway's whole handler, the server's share;
// "handler-memory" is "handler" on the memory stores (no database), to
// tell SQLite's share from the rest.
func BenchmarkOAuthRefreshGrant(b *testing.B) {
	h := newOAuthHarness(b, harnessOptions{db: openMigrated(b, sqlstore.ClientSQLite, filepath.Join(b.TempDir(), "gatehouse.sqlite"))})
	user := signInUser(b, h, "alice")
	_, rt := h.grantTokens(b, h.cli(), user)
	mem := newOAuthHarness(b, harnessOptions{})
	_, memRT := mem.grantTokens(b, mem.cli(), signInUser(b, mem, "alice"))
	b.Run("http", func(b *testing.B) {
		client := &http.Client{Timeout: 10 * time.Second}
		measureCPU(b, func() {
			req, _ := http.NewRequest("POST", h.base+"/api/auth/v1/token", refreshBody(rt))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			rt = nextRefreshToken(b, resp.StatusCode, body)
		})
	})
	b.Run("handler", func(b *testing.B) { benchRefreshHandler(b, h.gw.Handler(nil), &rt) })
	b.Run("handler-memory", func(b *testing.B) { benchRefreshHandler(b, mem.gw.Handler(nil), &memRT) })
}

// benchRefreshHandler serves the CLI's refresh grants through handler,
// each with the token the previous one returned (*rt).
func benchRefreshHandler(b *testing.B, handler http.Handler, rt *string) {
	measureCPU(b, func() {
		req := httptest.NewRequest("POST", "/api/auth/v1/token", refreshBody(*rt))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		*rt = nextRefreshToken(b, rec.Code, rec.Body.Bytes())
	})
}

// refreshBody is the CLI's refresh request (spec §2.14).
func refreshBody(rt string) io.Reader {
	data, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
	return bytes.NewReader(data)
}

// nextRefreshToken is the rotated refresh token of a 200 token answer.
func nextRefreshToken(b *testing.B, status int, body []byte) string {
	var answer struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &answer); status != 200 || err != nil || answer.RefreshToken == "" {
		b.Fatalf("refresh grant: %d %s", status, body)
	}
	return answer.RefreshToken
}

// measureCPU runs op in a b.Loop and reports the process CPU per op.
func measureCPU(b *testing.B, op func()) {
	b.ReportAllocs()
	before := processCPU(b)
	for b.Loop() {
		op()
	}
	cpu := processCPU(b) - before
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// processCPU is the user plus system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
