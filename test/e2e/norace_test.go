//go:build !race

package e2e

// raceEnabled: these tests run under the race detector.
const raceEnabled = false
