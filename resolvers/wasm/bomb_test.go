package wasm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/resolvers"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm"
	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

const bombChildEnv = "GATEHOUSE_WASM_BOMB_CHILD"

// bombRSSLimitMiB is the stated bound: peak RSS (VmHWM) growth of a fresh
// process while 50 recursion bombs run, 4 at a time.
const bombRSSLimitMiB = 64

// procStatusKiB reads a "Name:  N kB" line of /proc/self/status.
func procStatusKiB(t testing.TB, name string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status (%v): RSS cannot be measured on this OS", err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /proc/self/status", name)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestRecursionBombRSS: 50 calls of modules that recurse without end (small
// frames and large frames), 4 at a time, each fail closed with a clear
// error, and the process's peak RSS grows by less than bombRSSLimitMiB. It
// runs in a fresh process (the test binary re-executed) so other tests'
// memory does not count.
func TestRecursionBombRSS(t *testing.T) {
	if os.Getenv(bombChildEnv) == "1" {
		bombChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecursionBombRSS$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), bombChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`bomb-rss before=(\d+) peak=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child printed no figures:\n%s", out)
	}
	before, _ := strconv.Atoi(string(m[1]))
	peak, _ := strconv.Atoi(string(m[2]))
	growth := (peak - before) / 1024
	t.Logf("50 recursion bombs, 4 at a time: VmRSS before %d MiB, VmHWM after %d MiB (growth %d MiB, limit %d MiB)", before/1024, peak/1024, growth, bombRSSLimitMiB)
	if growth >= bombRSSLimitMiB {
		t.Fatalf("peak RSS grew by %d MiB during 50 recursion bombs, want < %d MiB", growth, bombRSSLimitMiB)
	}
}

func bombChild(t *testing.T) {
	h := newHost(t)
	var rs []resolvers.SignInResolver
	for _, name := range []string{"recurse", "bigframe"} {
		m := load(t, h, wasm.ModuleConfig{Name: name, Path: wasmtest.WAT(t, "resolvers/wasm/testdata/wat/"+name+".wat"), MemoryPages: 16, PoolSize: 4})
		r, err := m.ResolverFactory()(nil, resolvers.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	before := procStatusKiB(t, "VmRSS")
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				_, err := resolveOnce(context.Background(), rs[i%2], "a@b.c")
				msg := fmt.Sprint(err)
				if err == nil || !strings.Contains(msg, "call stack") {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("bomb %d: got %v, want a call-stack error", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range 50 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	fmt.Printf("bomb-rss before=%d peak=%d\n", before, procStatusKiB(t, "VmHWM"))
}
