package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the benchmark started: Gatehouse or the dev IdP. It
// runs in a process group of its own (so that stopping it reaches anything
// it starts) and gets SIGKILL if the benchmark dies without stopping it
// (Pdeathsig), so no run leaves an orphan listening.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // Wait's result, once done is closed
}

// startChild starts name (path with args), its stdout and stderr going to
// logPath.
func startChild(name, logPath, path string, args ...string) (*child, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		log.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended, with an error saying how
// and the end of its log.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v); its log ends with:\n%s", c.name, c.err, c.logTail())
	default:
		return nil
	}
}

// stop sends SIGTERM to the child's process group, waits up to grace for
// it to end (Gatehouse drains and closes its database), then SIGKILLs the
// group.
func (c *child) stop(grace time.Duration) {
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// logTail is the last lines of the child's log, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// freePorts asks the kernel for n distinct free loopback ports, holding
// each until all are chosen so that none comes twice. The listeners close
// before the children bind the ports, so another process could take one in
// between; that child then fails to listen and says so.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitUntil polls ready every 50 ms until it returns nil, c exits,
// timeout passes or ctx ends (Ctrl-C); the error says which and what ready
// last said.
func waitUntil(ctx context.Context, c *child, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if e := c.exited(); e != nil {
			return e
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("%s not ready after %v", c.name, timeout), err)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
