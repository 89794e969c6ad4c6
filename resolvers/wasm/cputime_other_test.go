//go:build !unix

package wasm

import "time"

// processCPU is unknown here; benchmarks then report 0 CPU.
func processCPU() time.Duration { return 0 }
