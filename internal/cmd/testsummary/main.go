// Command testsummary runs `go test -json` with the arguments it is given
// and prints what a person needs from it: each failed test's output in
// full, the per-package ok/FAIL lines, and at the end a count of tests
// passed, failed and skipped and one line saying what was skipped and why,
// e.g.
//
//	tests: 812 passed, 0 failed, 12 skipped
//	skipped: 12 tests (postgres: GATEHOUSE_TEST_POSTGRES_URL is not set ×9, chromium: … ×3)
//
// or "skipped: none". Every skip counts, not only internal/testenv's. It
// exits with go test's status, or 1 when it saw a failure go test did not
// report in its status.
//
// Usage: go run ./internal/cmd/testsummary [go test flags] packages…
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

func main() {
	args := append([]string{"test", "-json"}, os.Args[1:]...)
	goBin := os.Getenv("GO") // the Makefile's $(GO)
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.Command(goBin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout)
	s.read(out)
	err = cmd.Wait()
	s.finish()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	case s.failed > 0:
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type summary struct {
	w                       io.Writer
	passed, failed, skipped int
	// running holds each unfinished test's output, by package and name.
	running map[string][]string
	// reasons counts skips by reason.
	reasons map[string]int
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, running: map[string][]string{}, reasons: map[string]int{}}
}

func (s *summary) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (go test's own messages): show it as it is.
			fmt.Fprintf(s.w, "%s\n", line)
			continue
		}
		s.event(e)
	}
}

func (s *summary) event(e event) {
	key := e.Package + "\x00" + e.Test
	if e.Test == "" {
		switch e.Action {
		case "output", "build-output":
			// ok/FAIL lines, build errors, panics outside a test; the bare
			// PASS that ends a passing package's output says nothing.
			if e.Output != "PASS\n" {
				fmt.Fprint(s.w, e.Output)
			}
		case "fail":
			// Tests cut short by the package failing (a panic, a timeout)
			// never got their own fail event: show what they printed.
			for k, lines := range s.running {
				if strings.HasPrefix(k, e.Package+"\x00") {
					fmt.Fprint(s.w, strings.Join(lines, ""))
					delete(s.running, k)
				}
			}
		}
		return
	}
	switch e.Action {
	case "run":
		s.running[key] = nil
	case "output":
		s.running[key] = append(s.running[key], e.Output)
	case "pass":
		s.passed++
		delete(s.running, key)
	case "fail":
		s.failed++
		fmt.Fprint(s.w, strings.Join(s.running[key], ""))
		delete(s.running, key)
	case "skip":
		s.skipped++
		s.reasons[skipReason(s.running[key])]++
		delete(s.running, key)
	}
}

// logLine is the start of a t.Log/t.Skip line in a test's output.
var logLine = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)

// skipReason is the last message the skipped test logged (t.Skip's), or
// "no reason given".
func skipReason(lines []string) string {
	reason := "no reason given"
	for _, l := range lines {
		if m := logLine.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil && strings.TrimSpace(m[1]) != "" {
			reason = strings.TrimSpace(m[1])
		}
	}
	return reason
}

func (s *summary) finish() {
	fmt.Fprintf(s.w, "tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	fmt.Fprintln(s.w, s.skipLine())
}

// skipLine is "skipped: none" or "skipped: N tests (reason ×n, …)", the
// most frequent reason first.
func (s *summary) skipLine() string {
	if s.skipped == 0 {
		return "skipped: none"
	}
	reasons := make([]string, 0, len(s.reasons))
	for r := range s.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.reasons[reasons[i]] != s.reasons[reasons[j]] {
			return s.reasons[reasons[i]] > s.reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s ×%d", r, s.reasons[r])
	}
	noun := "tests"
	if s.skipped == 1 {
		noun = "test"
	}
	return fmt.Sprintf("skipped: %d %s (%s)", s.skipped, noun, strings.Join(parts, ", "))
}
