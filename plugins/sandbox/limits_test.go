package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/proctest"
)

// TestLimits checks each rlimit and the tmpfs cap from inside, with bash
// builtins only.
func TestLimits(t *testing.T) {
	s := newSandbox(t)
	cases := []struct {
		name, script, want string
	}{
		{"rlimits set", "ulimit -H -v; ulimit -S -v; ulimit -u; ulimit -f; ulimit -n; ulimit -S -t; ulimit -H -t; ulimit -c",
			fmt.Sprintf("%d\n%d\n%d\n%d\n%d\n%d\n%d\n0\n", testLimits.MemoryBytes>>10, testLimits.MemoryBytes>>10, testLimits.Processes,
				testLimits.FileBytes>>10, testLimits.OpenFiles, int(testLimits.CPUTime.Seconds()), int(testLimits.CPUTime.Seconds())+1)},
		{"rlimits cannot be raised", "ulimit -n 4096 2>/dev/null || echo refused; ulimit -v unlimited 2>/dev/null || echo refused", "refused\nrefused\n"},
		{"file over the size limit", fmt.Sprintf("(printf '%%*s' %d '' > /tmp/big) 2>/dev/null || echo refused; echo $(( $(wc -c </tmp/big 2>/dev/null || echo 0) ))", 8<<20),
			"refused\n0\n"},
		{"tmpfs full", fmt.Sprintf("for i in 1 2 3 4 5 6 7 8 9 10; do printf '%%*s' %d '' > /tmp/f$i || { echo full at $i; break; }; done 2>/dev/null", 3<<20),
			"full at 6\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bash(t, s, tc.script)
			if r.stdout != tc.want {
				t.Errorf("stdout %q stderr %q err %v; want %q", r.stdout, r.stderr, r.err, tc.want)
			}
		})
	}
	t.Run("memory", func(t *testing.T) {
		requirePython(t)
		r := run(t, s, python, "-I", "-c", "x = bytearray(1 << 30)")
		if !strings.Contains(r.stderr, "MemoryError") {
			t.Errorf("1 GiB under a 512 MiB limit: stderr %q err %v", r.stderr, r.err)
		}
	})
	t.Run("processes", func(t *testing.T) {
		requirePython(t)
		r := run(t, s, python, "-I", "-c", `import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
        n += 1
except OSError as e:
    print(n < 16, e.strerror)`)
		if r.stdout != "True Resource temporarily unavailable\n" {
			t.Errorf("fork until the limit: %+v", r)
		}
	})
}

// TestExitStatus checks how Wait reports the ways a command ends.
func TestExitStatus(t *testing.T) {
	s := newSandbox(t)
	cases := []struct {
		script string
		code   int
		sig    syscall.Signal
	}{
		{"true", 0, 0},
		{"exit 3", 3, 0},
		{"kill -9 $$", 137, syscall.SIGKILL},
		{"kill -XCPU $$", 128 + int(syscall.SIGXCPU), syscall.SIGXCPU},
		{"/no/such/command", 127, 0},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			r := bash(t, s, tc.script)
			var ee *ExitError
			switch {
			case tc.code == 0 && r.err != nil:
				t.Errorf("err %v, want nil", r.err)
			case tc.code != 0 && !errors.As(r.err, &ee):
				t.Errorf("err %v, want *ExitError", r.err)
			case ee != nil && (ee.Code != tc.code || ee.Signal != tc.sig || ee.Cause != nil):
				t.Errorf("ExitError %+v, want code %d signal %v and no cause", ee, tc.code, tc.sig)
			}
		})
	}
}

// sleepers starts a command that forks three children which sleep, and
// returns once it said so, with every process of its sandbox listed.
func sleepers(t *testing.T, c *Cmd) []proctest.Proc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Stdout = w
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if line != "ready\n" {
		c.Kill()
		t.Fatalf("read ready: %q %v", line, err)
	}
	procs := proctest.Descendants(c.Pid())
	if len(procs) < 5 { // bwrap, its pid 1, the command, three children
		t.Errorf("sandbox has %d processes, want at least 5: %+v", len(procs), procs)
	}
	return procs
}

const sleepersScript = `import os, time
for _ in range(3):
    if os.fork() == 0:
        time.sleep(1000)
print('ready', flush=True)
time.sleep(1000)`

// TestKill ends sandboxes three ways (the wall-clock limit, the ctx, Kill)
// and checks that Wait says which and that nothing of them runs after.
func TestKill(t *testing.T) {
	requirePython(t)
	s := newSandbox(t)
	cases := []struct {
		name  string
		setup func(c *Cmd, cancel context.CancelCauseFunc)
		end   func(c *Cmd, cancel context.CancelCauseFunc)
		want  error
	}{
		{"timeout", func(c *Cmd, _ context.CancelCauseFunc) { c.Timeout = 3 * time.Second }, nil, ErrTimeout}, // long enough to see it ready on a loaded machine
		{"ctx", nil, func(_ *Cmd, cancel context.CancelCauseFunc) { cancel(errDrain) }, errDrain},
		{"kill", nil, func(c *Cmd, _ context.CancelCauseFunc) { c.Kill() }, ErrKilled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(testCtx(t))
			defer cancel(nil)
			c := s.Command(ctx, python, "-I", "-c", sleepersScript)
			c.Timeout = time.Minute
			if tc.setup != nil {
				tc.setup(c, cancel)
			}
			procs := sleepers(t, c)
			if tc.end != nil {
				tc.end(c, cancel)
			}
			err := c.Wait()
			var ee *ExitError
			if !errors.Is(err, tc.want) || !errors.As(err, &ee) || ee.Signal != syscall.SIGKILL {
				t.Errorf("Wait: %v (%+v), want an ExitError by SIGKILL wrapping %v", err, ee, tc.want)
			}
			proctest.AssertGone(t, tc.name, procs)
		})
	}
}

var errDrain = errors.New("drain")

// TestCommandExitLeavesNothing: a command that exits while children it
// forked still run takes them with it.
func TestCommandExitLeavesNothing(t *testing.T) {
	requirePython(t)
	s := newSandbox(t)
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c := s.Command(testCtx(t), python, "-I", "-c", strings.TrimSuffix(sleepersScript, "time.sleep(1000)")+"import sys\nsys.stdin.readline()\nos._exit(0)")
	c.Stdin = in
	procs := sleepers(t, c)
	w.Close() // the command exits; its children still sleep
	if err := c.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	proctest.AssertGone(t, "exited command", procs)
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		name string
		opt  Option
		want string
	}{
		{"negative memory", WithLimits(Limits{MemoryBytes: -1}), "memory_bytes"},
		{"negative timeout", WithLimits(Limits{Timeout: -time.Second}), "timeout"},
		{"cpu below a second", WithLimits(Limits{CPUTime: time.Millisecond}), "cpu_time"},
		{"few files", WithLimits(Limits{OpenFiles: 3}), "open_files"},
		{"relative bind", WithReadOnlyBind("usr"), "absolute"},
		{"missing bind", WithReadOnlyBind("/no/such/dir"), "no such file"},
		{"bad env", WithEnv("NOEQUALS"), "KEY=VALUE"},
		{"relative bwrap", WithBwrap("bwrap"), "absolute"},
	}
	for _, tc := range cases {
		_, err := New(context.Background(), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// TestInsecureNoSandbox: without bubblewrap the command still gets a
// private directory, the environment and the rlimits.
func TestInsecureNoSandbox(t *testing.T) {
	s, err := New(testCtx(t), WithInsecureNoSandbox(), WithLimits(testLimits), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Insecure() {
		t.Error("Insecure() = false")
	}
	// The limits are set just after the start: the command reads its own
	// once the test has seen Start return.
	c := s.Command(testCtx(t), "/bin/bash", "-c", `read -r; [[ $HOME == "$PWD" && $HOME == /tmp/hintfleet-sandbox-insecure-* ]] && echo private; ulimit -n`)
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	c.Stdin, c.Stdout = in, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("go\n"))
	w.Close()
	err = c.Wait()
	r := result{stdout: out.String(), err: err}
	if r.stdout != fmt.Sprintf("private\n%d\n", testLimits.OpenFiles) {
		t.Errorf("insecure run: %+v", r)
	}
}
