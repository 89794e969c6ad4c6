package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which is 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// parseStatCPU returns utime+stime (fields 14 and 15 of proc(5)'s
// /proc/<pid>/stat) in clock ticks. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	// fields[0] is field 3 (state), so utime (14) is fields[11].
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	utime, err := strconv.ParseUint(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// parseSchedstat returns the first field of /proc/<pid>/task/<tid>/schedstat:
// the nanoseconds the thread has run on a CPU.
func parseSchedstat(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) < 1 {
		return 0, errors.New("empty schedstat")
	}
	ns, err := strconv.ParseUint(f[0], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("schedstat run time: %w", err)
	}
	return time.Duration(ns), nil
}

// parseStatusKB returns the value of key (e.g. "VmRSS", "VmHWM") in
// /proc/<pid>/status, in kB.
func parseStatusKB(status, key string) (uint64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: %q is not \"<n> kB\"", key, strings.TrimSpace(rest))
		}
		return strconv.ParseUint(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s line", key)
}

// cpuMeter reads a process's CPU time (user + system). It adds up the
// nanosecond run times of the process's live threads (schedstat), which
// resolves the fraction of a millisecond a request costs; the clock-tick
// total of /proc/<pid>/stat (10 ms resolution, but also counting threads
// that have exited) is the cross-check the report prints at the end.
type cpuMeter struct {
	pid int
}

// cpu returns the process's CPU time so far, summed over its threads.
func (m cpuMeter) cpu() (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", m.pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited between ReadDir and ReadFile
		}
		if err != nil {
			return 0, err
		}
		d, err := parseSchedstat(string(b))
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %w", dir, t.Name(), err)
		}
		total += d
	}
	return total, nil
}

// statCPU returns utime+stime from /proc/<pid>/stat.
func (m cpuMeter) statCPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatCPU(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", m.pid, err)
	}
	return time.Duration(ticks) * clockTick, nil
}

// memKB returns key ("VmRSS" or "VmHWM") from /proc/<pid>/status in kB.
func (m cpuMeter) memKB(key string) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.pid))
	if err != nil {
		return 0, err
	}
	v, err := parseStatusKB(string(b), key)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/status: %w", m.pid, err)
	}
	return v, nil
}

// parseMachineBusy returns the busy CPU time of all CPUs from the first
// line of /proc/stat ("cpu  user nice system idle iowait irq softirq steal
// guest guest_nice", in clock ticks): everything but idle and iowait.
// guest and guest_nice are already inside user and nice.
func parseMachineBusy(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("first line %q is not the cpu total", line)
	}
	var busy uint64
	for i, s := range f[1:9] { // user … steal
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu field %d: %w", i+1, err)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return time.Duration(busy) * clockTick, nil
}

// machineBusy reads parseMachineBusy from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	d, err := parseMachineBusy(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/stat: %w", err)
	}
	return d, nil
}
