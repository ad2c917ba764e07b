package python

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

func TestExecREPL(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{Trajectory: "repl"})
	tests := []struct {
		name       string
		code       string
		wantStdout string
		wantStderr string // substring
		wantExit   int
	}{
		{"print", "print(1+1)", "2\n", "", 0},
		{"last expression", "1+1", "2\n", "", 0},
		{"last expression after statements", "a = 20\nb = 22\na + b", "42\n", "", 0},
		{"none is silent", "None", "", "", 0},
		{"assignment is silent", "y = 5", "", "", 0},
		{"repr not str", "'hi'", "'hi'\n", "", 0},
		{"numpy preloaded", "import numpy as np\nnp.arange(4).sum()", "6\n", "", 0},
		{"sympy", "import sympy as sp\nx = sp.Symbol('x')\nsp.factor(x**2 - 1)", "(x - 1)*(x + 1)\n", "", 0},
		{"exception", "1/0", "", "ZeroDivisionError: division by zero", 1},
		{"traceback names the cell, not the kernel", "def f():\n    raise ValueError('boom')\nf()", "", "line 2, in f", 1},
		{"syntax error", "def (", "", "SyntaxError", 1},
		{"sys.exit keeps the session", "import sys\nsys.exit(2)", "", "", 2},
		{"output before an exception", "print('a')\nraise KeyError('k')", "a\n", "KeyError", 1},
		{"stderr", "import sys\nprint('e', file=sys.stderr)", "", "e\n", 0},
		{"os-level write", "import os\nos.write(1, b'raw\\n')\nNone", "raw\n", "", 0},
		{"subprocess output", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(\\'hi\\')']).returncode", "0\nhi\n", "", 0},
		{"input sees EOF", "input()", "", "EOFError", 1},
		{"empty code", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, i, id, tt.code)
			if res.Stdout != tt.wantStdout || !strings.Contains(res.Stderr, tt.wantStderr) || res.ExitCode != tt.wantExit || res.ErrorKind != plugins.KindNone {
				t.Errorf("Exec(%q) = stdout %q stderr %q exit %d kind %q; want stdout %q stderr ~%q exit %d kind none",
					tt.code, res.Stdout, res.Stderr, res.ExitCode, res.ErrorKind, tt.wantStdout, tt.wantStderr, tt.wantExit)
			}
			if strings.Contains(res.Stderr, "kernel") || strings.Contains(res.Stderr, "<string>") {
				t.Errorf("traceback shows the kernel's frames: %s", res.Stderr)
			}
		})
	}
}

func TestStatePersistsAcrossCalls(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{})
	run(t, i, id, "x = 41\ndef inc(v):\n    return v + 1")
	if res := run(t, i, id, "inc(x)"); res.Stdout != "42\n" {
		t.Errorf("inc(x) = %q, want 42", res.Stdout)
	}
	if res := run(t, i, id, "_ + 1"); res.Stdout != "43\n" {
		t.Errorf("_ + 1 = %q, want 43 (last value)", res.Stdout)
	}
}

func TestSessionsAreIsolated(t *testing.T) {
	i := sharedInterpreter(t)
	a := open(t, i, plugins.OpenRequest{Trajectory: "a"})
	b := open(t, i, plugins.OpenRequest{Trajectory: "b"})
	run(t, i, a, "secret = 'from a'\nopen('/tmp/a.txt', 'w').write('a')")
	res := run(t, i, b, "import os\nprint(os.path.exists('/tmp/a.txt'))\nsecret")
	if res.Stdout != "False\n" || !strings.Contains(res.Stderr, "NameError") {
		t.Errorf("session b sees a's state: stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}

func TestStatelessSessionResetsEveryCall(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{Stateless: true})
	run(t, i, id, "x = 1\nopen('/tmp/f', 'w').write('x')")
	res := run(t, i, id, "import os\nprint(os.path.exists('/tmp/f'))\nx")
	if res.Stdout != "False\n" || !strings.Contains(res.Stderr, "NameError") {
		t.Errorf("stateless call sees the previous one: stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}

func TestDescribe(t *testing.T) {
	i := sharedInterpreter(t)
	d, err := i.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "python" || strings.Join(d.Languages, ",") != "python,py,python3" || d.Limits != testLimits {
		t.Errorf("Describe = %+v", d)
	}
}

func TestSessionErrors(t *testing.T) {
	i := sharedInterpreter(t)
	ctx := testCtx(t)
	id := open(t, i, plugins.OpenRequest{})
	if err := i.Close(ctx, id); err != nil {
		t.Fatalf("Close: %v", err)
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"exec unknown", func() error {
			_, err := i.Exec(ctx, plugins.ExecRequest{Session: "nope", Code: "1"})
			return err
		}, plugins.ErrUnknownSession},
		{"exec closed", func() error {
			_, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "1"})
			return err
		}, plugins.ErrUnknownSession},
		{"close twice", func() error { return i.Close(ctx, id) }, plugins.ErrUnknownSession},
		{"negative timeout", func() error {
			_, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "1", Timeout: -1})
			return err
		}, plugins.ErrInvalidRequest},
		{"negative ttl", func() error {
			_, err := i.Open(ctx, plugins.OpenRequest{TTL: -time.Second})
			return err
		}, plugins.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCancelKillsTheCall(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{})
	procs := sandboxProcs(t, i, id)
	cause := errors.New("trajectory budget spent")
	// The ctx ends while the code sleeps (the call's own timeout is 20s).
	ctx, cancel := context.WithTimeoutCause(testCtx(t), 2*time.Second, cause)
	defer cancel()
	_, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "import time\nwhile True: time.sleep(1)"})
	if !errors.Is(err, cause) {
		t.Fatalf("Exec with cancelled ctx: err %v, want %v", err, cause)
	}
	proctest.AssertGone(t, "cancelled session", procs)
	if _, err := i.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: "1"}); !errors.Is(err, ErrSessionDead) {
		t.Errorf("Exec after cancel: %v, want ErrSessionDead", err)
	}
}

func TestCloseKillsTheSandbox(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{})
	run(t, i, id, "import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)'])")
	procs := sandboxProcs(t, i, id)
	if len(procs) < 4 { // bwrap, its pid 1, python, the sleeping child
		t.Fatalf("sandbox has %d processes, want bwrap, pid 1, python and its child: %+v", len(procs), procs)
	}
	if err := i.Close(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	proctest.AssertGone(t, "closed session", procs)
}

func TestStopKillsEverything(t *testing.T) {
	i := newInterpreter(t, WithPoolSize(1))
	id := open(t, i, plugins.OpenRequest{})
	procs := sandboxProcs(t, i, id)
	ctx := testCtx(t)
	if err := i.pool.waitWarm(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pr := <-i.pool.ready
	i.pool.ready <- pr
	warm := proctest.Descendants(pr.pid())
	i.Stop()
	proctest.AssertGone(t, "session after Stop", procs)
	proctest.AssertGone(t, "warm interpreter after Stop", warm)
	if _, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Exec after Stop: %v, want ErrClosed", err)
	}
	if _, err := i.Open(ctx, plugins.OpenRequest{}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("Open after Stop: %v, want ErrUnavailable", err)
	}
	i.Stop() // idempotent
}

func TestNewRefusesWithoutSandbox(t *testing.T) {
	_, err := New(WithSandboxOptions(sandbox.WithBwrap("/nonexistent/bwrap")))
	if !errors.Is(err, ErrNoSandbox) {
		t.Errorf("New without bwrap: %v, want ErrNoSandbox", err)
	}
}

func TestInsecureNoSandbox(t *testing.T) {
	requireSandbox(t) // for the interpreter; bwrap itself is not used
	i := newInterpreter(t, WithSandboxOptions(sandbox.WithInsecureNoSandbox(), sandbox.WithBwrap("/nonexistent/bwrap")), WithPoolSize(0), WithPreload())
	id := open(t, i, plugins.OpenRequest{})
	if res := run(t, i, id, "print(1+1)"); res.Stdout != "2\n" {
		t.Errorf("insecure print(1+1) = %+v", res)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		ok   bool
	}{
		{"limits zero keeps defaults", WithLimits(plugins.Limits{}), true},
		{"negative memory", WithLimits(plugins.Limits{MemoryBytes: -1}), false},
		{"tiny memory", WithLimits(plugins.Limits{MemoryBytes: 1 << 20}), false},
		{"few files", WithLimits(plugins.Limits{OpenFiles: 3}), false},
		{"negative timeout", WithLimits(plugins.Limits{Timeout: -time.Second}), false},
		{"pool negative", WithPoolSize(-1), false},
		{"pool zero", WithPoolSize(0), true},
		{"relative python", WithPython("python3"), false},
		{"cpu too small", WithCPUTime(time.Millisecond), false},
		{"ttl zero", WithSessionTTL(0), false},
		{"start timeout zero", WithStartTimeout(0), false},
		{"nil logger", WithLogger(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			if err := tt.opt(&c); (err == nil) != tt.ok {
				t.Errorf("option error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestSandboxOptionErrors: a bad option passed through to plugins/sandbox
// is an error from New, naming what is wrong, before any interpreter
// starts.
func TestSandboxOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sandbox.Option
		want string
	}{
		{"relative bwrap", sandbox.WithBwrap("bwrap"), "absolute"},
		{"missing bind", sandbox.WithReadOnlyBind("/nonexistent"), "no such file"},
		{"relative bind", sandbox.WithReadOnlyBind("opt"), "absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(WithSandboxOptions(tc.opt)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestPreloadMissingRefused(t *testing.T) {
	requireSandbox(t)
	_, err := New(WithPreload("numpy", "no_such_module_hintfleet"))
	if err == nil || !strings.Contains(err.Error(), "no_such_module_hintfleet") {
		t.Errorf("New with a missing preload: %v, want an error naming it", err)
	}
}
