package python

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
)

// testLimits are small so hostile cases hit them fast.
var testLimits = plugins.Limits{
	Timeout:     20 * time.Second,
	MemoryBytes: 512 << 20,
	OutputBytes: 64 << 10,
	Processes:   16,
	FileBytes:   4 << 20,
	OpenFiles:   64,
	TmpfsBytes:  16 << 20,
}

var (
	sharedOnce sync.Once
	shared     *Interpreter
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
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

func requireSandbox(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap not installed (make deps installs it)")
	}
	if _, err := os.Stat(DefaultPython); err != nil {
		t.Skipf("%s not installed (make deps installs python3-numpy python3-sympy)", DefaultPython)
	}
}

// sharedInterpreter is one sandboxed tool for the tests that do not need
// their own options; hostile cases run on it too, to show that it keeps
// serving.
func sharedInterpreter(t testing.TB) *Interpreter {
	t.Helper()
	requireSandbox(t)
	sharedOnce.Do(func() {
		shared, sharedErr = New(WithLimits(testLimits), WithPoolSize(3), WithLogger(testLogger()))
	})
	if sharedErr != nil {
		t.Fatalf("New: %v", sharedErr)
	}
	return shared
}

// newInterpreter is a tool of the test's own, stopped at cleanup.
func newInterpreter(t testing.TB, opts ...Option) *Interpreter {
	t.Helper()
	requireSandbox(t)
	i, err := New(append([]Option{WithLimits(testLimits), WithLogger(testLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(i.Stop)
	return i
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a session that is closed at cleanup (closing twice is fine).
func open(t testing.TB, i *Interpreter, req plugins.OpenRequest) string {
	t.Helper()
	id, err := i.Open(testCtx(t), req)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { i.Close(context.Background(), id) })
	return id
}

func run(t testing.TB, i *Interpreter, id, code string) plugins.ExecResult {
	t.Helper()
	res, err := i.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: code})
	if err != nil {
		t.Fatalf("Exec(%q): %v", code, err)
	}
	return res
}

// sandboxProcs lists the processes of a session's sandbox right now.
func sandboxProcs(t testing.TB, i *Interpreter, id string) []proctest.Proc {
	t.Helper()
	i.mu.Lock()
	s, ok := i.sessions[id]
	i.mu.Unlock()
	if !ok || s.proc == nil {
		t.Fatalf("session %s: no interpreter", id)
	}
	return proctest.Descendants(s.proc.pid())
}
