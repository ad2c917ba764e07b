package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/proctest"
)

// testLimits are small so hostile cases hit them fast.
var testLimits = Limits{
	Timeout:     20 * time.Second,
	CPUTime:     20 * time.Second,
	MemoryBytes: 512 << 20,
	Processes:   16,
	FileBytes:   4 << 20,
	OpenFiles:   64,
	TmpfsBytes:  16 << 20,
}

// python is the interpreter the syscall and descriptor cases use: any
// command will do, and ctypes reaches raw system calls.
const python = "/usr/bin/python3"

func TestMain(m *testing.M) {
	code := m.Run()
	// Every sandbox the tests started must be gone with them.
	if left := proctest.Running(proctest.Descendants(os.Getpid())[1:]); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes left running after the tests: %+v\n", left)
		code = 1
	}
	os.Exit(code)
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func requireBwrap(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap not installed (make deps installs it)")
	}
}

func requirePython(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not installed (make deps installs it)", python)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newSandbox is a Sandbox with the test limits and opts.
func newSandbox(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	requireBwrap(t)
	s, err := New(testCtx(t), append([]Option{WithLimits(testLimits), WithLogger(testLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// result is what one sandboxed command did.
type result struct {
	stdout, stderr string
	err            error
}

// run runs name with args in s and collects its output.
func run(t testing.TB, s *Sandbox, name string, args ...string) result {
	t.Helper()
	return runCmd(t, s.Command(testCtx(t), name, args...))
}

func runCmd(t testing.TB, c *Cmd) result {
	t.Helper()
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	return result{out.String(), errOut.String(), err}
}

func bash(t testing.TB, s *Sandbox, script string) result {
	t.Helper()
	return run(t, s, "/bin/bash", "-c", script)
}
