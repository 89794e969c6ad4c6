package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/resolvers/wasm/wasmtest"
)

// gatehouseBin is cmd/gatehouse, built once by TestMain for the tests that
// run the real command (serve, check, migrate, healthcheck).
var gatehouseBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatehouseBin = filepath.Join(dir, "gatehouse")
	args := []string{"build", "-o", gatehouseBin}
	if raceEnabled {
		// The server under test runs with the race detector too.
		args = append(args, "-race")
	}
	build := exec.Command(goTool(), append(args, "./cmd/gatehouse")...)
	build.Dir = wasmtest.Root()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building cmd/gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command that runs these tests ($GO, else go on PATH).
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// run runs `gatehouse args…` as its own process and returns its exit
// code. Ending ctx sends it SIGTERM, as an orchestrator would, and waits
// for it to drain and exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := exec.CommandContext(ctx, gatehouseBin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	case ctx.Err() != nil && cmd.ProcessState != nil && cmd.ProcessState.Success():
		return 0
	}
	fmt.Fprintf(stderr, "running gatehouse: %v\n", err)
	return -1
}
