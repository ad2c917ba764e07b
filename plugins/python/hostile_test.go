package python

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
)

// hostileCase is code written to break the sandbox or the host. Every case
// checks its error kind, that the host keeps serving (a witness session
// still answers), and that nothing of the sandbox is left running.
type hostileCase struct {
	name    string
	code    string
	timeout time.Duration
	kind    plugins.ErrorKind
	// dead: the session's interpreter is gone afterwards; otherwise the
	// session must still answer.
	dead  bool
	check func(t *testing.T, res plugins.ExecResult)
}

func stdoutIs(want string) func(*testing.T, plugins.ExecResult) {
	return func(t *testing.T, res plugins.ExecResult) {
		t.Helper()
		if res.Stdout != want {
			t.Errorf("stdout %q, want %q (stderr %q)", res.Stdout, want, res.Stderr)
		}
	}
}

func stderrHas(want string) func(*testing.T, plugins.ExecResult) {
	return func(t *testing.T, res plugins.ExecResult) {
		t.Helper()
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr %q, want it to contain %q", res.Stderr, want)
		}
	}
}

func TestHostileCode(t *testing.T) {
	i := sharedInterpreter(t)
	witness := open(t, i, plugins.OpenRequest{Trajectory: "witness"})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	// Of /usr only the libraries and the interpreter are bound: not
	// /usr/local, the other binaries or /usr/share.
	hostPaths := []string{"/etc/shadow", "/etc/passwd", "/root", home, exe, wd, "/work",
		"/usr/local", "/usr/bin/ls", "/bin/sh", "/usr/sbin", "/usr/share/doc", "/usr/include"}
	var pyPaths []string
	for _, p := range hostPaths {
		pyPaths = append(pyPaths, fmt.Sprintf("%q", p))
	}

	cases := []hostileCase{
		{name: "infinite loop", code: "while True:\n    pass", timeout: time.Second, kind: plugins.KindTimeout, dead: true},
		{name: "sleeping forever", code: "import time\ntime.sleep(10**6)", timeout: time.Second, kind: plugins.KindTimeout, dead: true},
		{name: "memory bomb bytearray", code: "x = bytearray(8 << 30)", kind: plugins.KindMemory,
			check: stderrHas("MemoryError")},
		{name: "memory bomb growing list", code: "def f():\n    l = []\n    while True:\n        l.append(bytearray(16 << 20))\nf()", kind: plugins.KindMemory},
		{name: "memory bomb numpy", code: "import numpy as np\nnp.ones(1 << 34)", kind: plugins.KindMemory},
		{name: "fill tmpfs", code: "for n in range(100):\n    open(f'/tmp/f{n}', 'wb').write(b'x' * (2 << 20))", kind: plugins.KindOutputLimit,
			check: stderrHas("No space left on device")},
		{name: "file over size limit", code: "open('/tmp/big', 'wb').write(b'x' * (8 << 20))", kind: plugins.KindOutputLimit,
			check: stderrHas("File too large")},
		{name: "write outside tmpfs", code: `import errno
for p in ['/usr/evil', '/etc/evil', '/evil', '/dev/evil', '/dev/shm/evil', '/proc/evil', '/root/evil']:
    try:
        open(p, 'w').write('x')
        print(p, 'WRITTEN')
    except OSError as e:
        print(p, errno.errorcode[e.errno])`,
			check: func(t *testing.T, res plugins.ExecResult) {
				if strings.Contains(res.Stdout, "WRITTEN") || strings.Count(res.Stdout, "EROFS") < 5 {
					t.Errorf("writes outside /tmp: %s", res.Stdout)
				}
			}},
		{name: "tcp connect to the host", code: fmt.Sprintf(`import socket
s = socket.socket()
s.settimeout(2)
try:
    s.connect(('127.0.0.1', %d))
    print('CONNECTED')
except OSError as e:
    print(type(e).__name__)`, port),
			check: func(t *testing.T, res plugins.ExecResult) {
				if strings.Contains(res.Stdout, "CONNECTED") {
					t.Errorf("code reached the host's listener: %s", res.Stdout)
				}
				// Any connection would be queued by now: the connect
				// returned before Exec did.
				ln.(*net.TCPListener).SetDeadline(time.Now())
				if c, err := ln.Accept(); err == nil {
					c.Close()
					t.Error("the test's listener saw a connection from the sandbox")
				}
			}},
		{name: "dns and outbound udp", code: `import socket
try:
    socket.getaddrinfo('example.com', 80)
    print('RESOLVED')
except OSError as e:
    print(type(e).__name__)
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('1.1.1.1', 53))
    print('SENT')
except OSError as e:
    print(e.strerror)`, check: stdoutIs("gaierror\nNetwork is unreachable\n")},
		{name: "read host files", code: fmt.Sprintf("import os\nprint([os.path.exists(p) for p in [%s]])", strings.Join(pyPaths, ", ")),
			check: stdoutIs(fmt.Sprintf("[%s]\n", strings.TrimSuffix(strings.Repeat("False, ", len(hostPaths)), ", ")))},
		{name: "host processes invisible", code: fmt.Sprintf(`import os
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
print(open('/proc/1/cmdline', 'rb').read().split(b'\0')[0].decode().endswith('bwrap'))
print(os.path.exists('/proc/%d'), os.getuid())`, os.Getpid()),
			check: stdoutIs("[1, 2]\nTrue\nFalse 65534\n")},
		{name: "kill the parent", code: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass\nprint('still here')",
			check: stdoutIs("still here\n")},
		{name: "kill a host pid", code: fmt.Sprintf("import os\nos.kill(%d, 9)", os.Getpid()), check: stderrHas("ProcessLookupError")},
		{name: "fork bomb", code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", timeout: 2 * time.Second,
			kind: plugins.KindTimeout, dead: true},
		{name: "fork until the limit", code: `import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
        n += 1
except OSError as e:
    print('stopped by', e.strerror)`, check: stdoutIs("stopped by Resource temporarily unavailable\n")},
		{name: "thread bomb", code: "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()",
			check: stderrHas("can't start new thread")},
		{name: "nested user namespace", code: "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.unshare(0x10000000), ctypes.get_errno() != 0)",
			check: stdoutIs("-1 True\n")},
		{name: "print a gigabyte", code: "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)", kind: plugins.KindOutputLimit,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !res.StdoutTruncated || int64(len(res.Stdout)) != testLimits.OutputBytes {
					t.Errorf("stdout %d bytes truncated=%v, want %d truncated", len(res.Stdout), res.StdoutTruncated, testLimits.OutputBytes)
				}
			}},
		{name: "write a gigabyte to fd 1", code: "import os\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, chunk)", kind: plugins.KindOutputLimit,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !res.StdoutTruncated || int64(len(res.Stdout)) > testLimits.OutputBytes {
					t.Errorf("stdout %d bytes truncated=%v", len(res.Stdout), res.StdoutTruncated)
				}
			}},
		{name: "invalid utf-8", code: "import os, sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe\\n')\nsys.stdout.flush()\nos.write(1, b'\\xc3\\x28\\n')\nprint('\\ud800')",
			check: func(t *testing.T, res plugins.ExecResult) {
				if !utf8.ValidString(res.Stdout) || !strings.HasPrefix(res.Stdout, "ok \uFFFD") {
					t.Errorf("stdout %q: want valid UTF-8 starting with %q", res.Stdout, "ok \uFFFD")
				}
			}},
		{name: "close stdout", code: "import sys\nsys.stdout.close()\nprint('lost')", check: stderrHas("I/O operation on closed file")},
		{name: "close fds 0-2", code: "import os\nfor fd in (0, 1, 2):\n    os.close(fd)"},
		{name: "os._exit", code: "import os\nos._exit(3)", kind: plugins.KindCrashed, dead: true,
			check: func(t *testing.T, res plugins.ExecResult) {
				if res.ExitCode != 3 {
					t.Errorf("exit code %d, want 3", res.ExitCode)
				}
			}},
		{name: "kill itself", code: "import os\nos.kill(os.getpid(), 9)", kind: plugins.KindKilled, dead: true},
		{name: "abort", code: "import os\nos.abort()", kind: plugins.KindCrashed, dead: true},
		{name: "close the protocol pipe", code: "import os\nos.close(4)", kind: plugins.KindCrashed, dead: true},
		{name: "forge a huge frame", code: "import os\nos.write(4, b'\\xff\\xff\\xff\\xff')\nimport time\ntime.sleep(1000)", kind: plugins.KindCrashed, dead: true},
		{name: "forge a response", code: "import os, json\nb = json.dumps({'id': 999, 'stdout': 'forged'}).encode()\nos.write(4, len(b).to_bytes(4, 'big') + b)", kind: plugins.KindCrashed, dead: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := open(t, i, plugins.OpenRequest{Trajectory: tc.name})
			procs := sandboxProcs(t, i, id)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := i.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: tc.code, Timeout: tc.timeout})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("host allocated %d MiB during the call", grew>>20)
			}
			if res.ErrorKind != tc.kind {
				t.Errorf("kind %q (%s), want %q; stdout %.200q stderr %.500q", res.ErrorKind, res.Error, tc.kind, res.Stdout, res.Stderr)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			if tc.dead {
				proctest.AssertGone(t, "dead session", procs)
				if _, err := i.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: "1"}); !errors.Is(err, ErrSessionDead) {
					t.Errorf("Exec after the interpreter died: %v, want ErrSessionDead", err)
				}
			} else if res := run(t, i, id, "print('alive')"); res.Stdout != "alive\n" {
				t.Errorf("session no longer answers: %+v", res)
			}
			procs = append(procs, proctest.Descendants(procs[0].PID)...)
			if err := i.Close(testCtx(t), id); err != nil {
				t.Errorf("Close: %v", err)
			}
			proctest.AssertGone(t, "closed session", procs)
			if res := run(t, i, witness, "print(1+1)"); res.Stdout != "2\n" {
				t.Errorf("witness session broken after %s: %+v", tc.name, res)
			}
		})
	}
}

// TestForkBombIsContained watches a fork bomb while it runs: the sandbox
// never holds more processes than the limit allows, and all die with it.
func TestForkBombIsContained(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{})
	root := sandboxProcs(t, i, id)[0].PID
	done := make(chan plugins.ExecResult, 1)
	go func() {
		res, _ := i.Exec(context.Background(), plugins.ExecRequest{Session: id, Timeout: 3 * time.Second,
			Code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"})
		done <- res
	}()
	var seen []proctest.Proc
	most := 0
	for res := (plugins.ExecResult{}); ; {
		select {
		case res = <-done:
			if res.ErrorKind != plugins.KindTimeout {
				t.Errorf("fork bomb: kind %q, want timeout", res.ErrorKind)
			}
			// +1: bwrap's outer process lives outside the sandbox's user
			// namespace and does not count against its limit.
			if int64(most) > testLimits.Processes+1 {
				t.Errorf("sandbox held %d processes, limit %d", most, testLimits.Processes)
			}
			if most < 8 {
				t.Logf("saw at most %d processes; the bomb was slow to start", most)
			}
			proctest.AssertGone(t, "fork bomb", seen)
			return
		default:
			ps := proctest.Descendants(root)
			most = max(most, len(ps))
			for _, p := range ps {
				if !slices.Contains(seen, p) {
					seen = append(seen, p)
				}
			}
		}
	}
}

func TestSessionTTL(t *testing.T) {
	i := sharedInterpreter(t)
	// Long enough that the session is still there when it is looked up
	// once, below, on a loaded machine; the expiry itself is awaited.
	id := open(t, i, plugins.OpenRequest{TTL: 2 * time.Second})
	i.mu.Lock()
	s, ok := i.sessions[id]
	i.mu.Unlock()
	if !ok || s.proc == nil {
		t.Fatalf("session %s gone before its TTL of 2s", id)
	}
	pr := s.proc
	procs := proctest.Descendants(pr.pid())
	select {
	case <-pr.cmd.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("session outlived its TTL by 30s")
	}
	proctest.AssertGone(t, "expired session", procs)
	if _, err := i.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: "1"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("Exec after TTL: %v, want ErrUnknownSession", err)
	}
}

func TestCPULimit(t *testing.T) {
	// Imports take about a second of CPU time; the loop gets the rest.
	i := newInterpreter(t, WithPoolSize(0), WithCPUTime(3*time.Second))
	id := open(t, i, plugins.OpenRequest{})
	res := run(t, i, id, "while True:\n    pass")
	if res.ErrorKind != plugins.KindTimeout || !strings.Contains(res.Error, "SIGXCPU") {
		t.Errorf("CPU-bound loop: kind %q error %q, want timeout by SIGXCPU", res.ErrorKind, res.Error)
	}
}
