package main

import (
	"bytes"
	"strings"
	"testing"
)

// stream is `go test -json` output as go 1.26 prints it: a pass, a
// testenv skip, a plain t.Skip, a failing subtest, and a test cut short by
// a panic that fails its package.
const stream = `{"Action":"start","Package":"p/a"}
{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK"}
{"Action":"run","Package":"p/a","Test":"TestPG/one"}
{"Action":"output","Package":"p/a","Test":"TestPG/one","Output":"    db_test.go:73: postgres: GATEHOUSE_TEST_POSTGRES_URL is not set\n"}
{"Action":"output","Package":"p/a","Test":"TestPG/one","Output":"--- SKIP: TestPG/one (0.00s)\n"}
{"Action":"skip","Package":"p/a","Test":"TestPG/one"}
{"Action":"run","Package":"p/a","Test":"TestPG/two"}
{"Action":"output","Package":"p/a","Test":"TestPG/two","Output":"    db_test.go:73: postgres: GATEHOUSE_TEST_POSTGRES_URL is not set\n"}
{"Action":"skip","Package":"p/a","Test":"TestPG/two"}
{"Action":"run","Package":"p/a","Test":"TestPlain"}
{"Action":"output","Package":"p/a","Test":"TestPlain","Output":"    x_test.go:9: wat2wasm not found\n"}
{"Action":"skip","Package":"p/a","Test":"TestPlain"}
{"Action":"run","Package":"p/a","Test":"TestBare"}
{"Action":"output","Package":"p/a","Test":"TestBare","Output":"    x_test.go:12: \n"}
{"Action":"skip","Package":"p/a","Test":"TestBare"}
{"Action":"run","Package":"p/a","Test":"TestBad/sub"}
{"Action":"output","Package":"p/a","Test":"TestBad/sub","Output":"=== RUN   TestBad/sub\n"}
{"Action":"output","Package":"p/a","Test":"TestBad/sub","Output":"    bad_test.go:5: got 1, want 2\n"}
{"Action":"output","Package":"p/a","Test":"TestBad/sub","Output":"--- FAIL: TestBad/sub (0.00s)\n"}
{"Action":"fail","Package":"p/a","Test":"TestBad/sub"}
{"Action":"output","Package":"p/a","Output":"FAIL\n"}
{"Action":"output","Package":"p/a","Output":"FAIL\tp/a\t0.01s\n"}
{"Action":"fail","Package":"p/a"}
{"Action":"run","Package":"p/b","Test":"TestPanics"}
{"Action":"output","Package":"p/b","Test":"TestPanics","Output":"panic: boom\n"}
{"Action":"output","Package":"p/b","Output":"FAIL\tp/b\t0.01s\n"}
{"Action":"fail","Package":"p/b"}
go: some message that is not JSON
{"Action":"output","Package":"p/c","Output":"ok  \tp/c\t0.01s\n"}
{"Action":"output","Package":"p/c","Output":"PASS\n"}
`

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	s := newSummary(&out)
	s.read(strings.NewReader(stream))
	s.finish()
	got := out.String()
	for _, want := range []string{
		"    bad_test.go:5: got 1, want 2\n--- FAIL: TestBad/sub",
		"FAIL\tp/a\t0.01s\n",
		"panic: boom\n",
		"go: some message that is not JSON\n",
		"ok  \tp/c\t0.01s\n",
		"tests: 1 passed, 1 failed, 4 skipped\n",
		"skipped: 4 tests (postgres: GATEHOUSE_TEST_POSTGRES_URL is not set ×2, no reason given ×1, wat2wasm not found ×1)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"TestOK", "--- SKIP", "PASS\n"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("%q shown in:\n%s", unwanted, got)
		}
	}
}

func TestSummaryNoSkips(t *testing.T) {
	var out bytes.Buffer
	s := newSummary(&out)
	s.read(strings.NewReader(`{"Action":"pass","Package":"p","Test":"TestX"}` + "\n"))
	s.finish()
	if !strings.HasSuffix(out.String(), "tests: 1 passed, 0 failed, 0 skipped\nskipped: none\n") {
		t.Errorf("got:\n%s", out.String())
	}
}
