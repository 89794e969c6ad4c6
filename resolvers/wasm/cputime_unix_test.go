//go:build unix

package wasm

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used: a
// benchmark figure that other processes on a shared machine do not
// inflate, unlike wall-clock time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
