package bash

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
)

var testLimits = plugins.Limits{
	Timeout:     20 * time.Second,
	MemoryBytes: 512 << 20,
	OutputBytes: 4 << 10,
	Processes:   16,
	FileBytes:   1 << 20,
	OpenFiles:   64,
	TmpfsBytes:  8 << 20,
}

func TestMain(m *testing.M) {
	code := m.Run()
	if left := proctest.Running(proctest.Descendants(os.Getpid())[1:]); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes left running after the tests: %+v\n", left)
		code = 1
	}
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newTool(t testing.TB, opts ...Option) *Tool {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap not installed (make deps installs it)")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tool, err := New(testCtx(t), append([]Option{WithLimits(testLimits), WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(tool.Stop)
	return tool
}

func open(t testing.TB, tool *Tool) string {
	t.Helper()
	id, err := tool.Open(testCtx(t), plugins.OpenRequest{Trajectory: t.Name()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { tool.Close(context.Background(), id) })
	return id
}

func TestBlocks(t *testing.T) {
	tool := newTool(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []blockCase{
		{name: "echo", code: "echo hello", stdout: "hello\n"},
		{name: "coreutils and pipes", code: "seq 1 5 | paste -sd+ | bc", stdout: "15\n"},
		{name: "python from bash", code: `python3 -c 'print(6*7)'`, stdout: "42\n"},
		{name: "who and where", code: `echo "$(id -u) $PWD"; touch /tmp/x && echo writable; touch /usr/x 2>/dev/null || echo ro`, stdout: "65534 /tmp\nwritable\nro\n"},
		{name: "exit status", code: "echo out; echo err >&2; exit 3", stdout: "out\n", exit: 3,
			check: func(t *testing.T, res plugins.ExecResult) {
				if res.Stderr != "err\n" {
					t.Errorf("stderr %q", res.Stderr)
				}
			}},
		{name: "syntax error", code: "if then fi", exit: 2},
		{name: "missing command", code: "no-such-command", exit: 127},
		{name: "no network", code: fmt.Sprintf("(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null || echo refused", ln.Addr().(*net.TCPAddr).Port), stdout: "refused\n"},
		{name: "host files", code: "ls /root /home /etc/passwd /usr/local 2>/dev/null; echo done", stdout: "done\n"},
		{name: "stdin is empty", code: "cat; echo end", stdout: "end\n"},
		{name: "wall clock", code: "sleep 100", timeout: 300 * time.Millisecond, exit: -1, kind: plugins.KindTimeout},
		{name: "fork bomb", code: ":(){ :|:& };:; sleep 100", timeout: time.Second, exit: -1, kind: plugins.KindTimeout},
		{name: "yes forever", code: "yes", kind: plugins.KindOutputLimit, exit: 153,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !res.StdoutTruncated || int64(len(res.Stdout)) != testLimits.OutputBytes {
					t.Errorf("stdout %d bytes truncated=%v, want %d truncated", len(res.Stdout), res.StdoutTruncated, testLimits.OutputBytes)
				}
			}},
		{name: "output over the cap", code: "seq 1 100000 | tail -c 5000", kind: plugins.KindOutputLimit,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !res.StdoutTruncated || len(res.Stdout) != int(testLimits.OutputBytes) {
					t.Errorf("stdout %d bytes truncated=%v", len(res.Stdout), res.StdoutTruncated)
				}
			}},
		{name: "file over the size limit", code: "head -c 2000000 /dev/zero > /tmp/big", exit: 153, kind: plugins.KindOutputLimit},
		{name: "invalid utf-8", code: `printf 'ok \xff\xfe\n'`,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !utf8.ValidString(res.Stdout) || !strings.HasPrefix(res.Stdout, "ok \uFFFD") {
					t.Errorf("stdout %q: want valid UTF-8", res.Stdout)
				}
			}},
		{name: "kill itself", code: "kill -9 $$", exit: 137, kind: plugins.KindKilled},
		{name: "protocol descriptors closed", code: "echo 0 >&63 || echo 0 >&4 || echo closed", stdout: "closed\n",
			check: func(t *testing.T, res plugins.ExecResult) {
				if res.Stdout != "closed\n" {
					t.Errorf("the block reached a protocol descriptor: %+v", res)
				}
			}},
		{name: "block too large", code: "echo " + strings.Repeat("x", MaxCodeBytes), exit: 2,
			check: func(t *testing.T, res plugins.ExecResult) {
				if !strings.Contains(res.Stderr, "split it") {
					t.Errorf("stderr %q", res.Stderr)
				}
			}},
	}
	for _, stateless := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("stateless=%t/%s", stateless, tc.name), func(t *testing.T) {
				testBlock(t, tool, stateless, tc)
			})
		}
	}
}

// blockCase is one block and what it must give.
type blockCase struct {
	name    string
	code    string
	timeout time.Duration
	stdout  string // exact, unless check is set
	exit    int
	kind    plugins.ErrorKind
	check   func(t *testing.T, res plugins.ExecResult)
}

// testBlock runs tc in a session of its own and checks the result.
func testBlock(t *testing.T, tool *Tool, stateless bool, tc blockCase) {
	id, err := tool.Open(testCtx(t), plugins.OpenRequest{Trajectory: t.Name(), Stateless: stateless})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer tool.Close(context.Background(), id)
	res, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: tc.code, Timeout: tc.timeout})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode != tc.exit || res.ErrorKind != tc.kind {
		t.Errorf("exit %d kind %q (%s), want %d %q; stdout %.200q stderr %.300q", res.ExitCode, res.ErrorKind, res.Error, tc.exit, tc.kind, res.Stdout, res.Stderr)
	}
	if tc.check != nil {
		tc.check(t, res)
	} else if res.Stdout != tc.stdout {
		t.Errorf("stdout %q, want %q (stderr %q)", res.Stdout, tc.stdout, res.Stderr)
	}
}

// TestSessionKeepsState: a session's blocks share one shell (variables,
// functions, the working directory, files, background jobs) until a block
// ends it, and the next block gets a fresh one; a stateless session starts
// every block fresh.
func TestSessionKeepsState(t *testing.T) {
	tool := newTool(t)
	const show = `echo "${X:-unset} $PWD $(cat /tmp/f 2>/dev/null || echo nofile) $(type -t f || echo nofunc)"`
	steps := []struct {
		code, stdout string
		exit         int
	}{
		{"X=1; cd /usr; echo hi > /tmp/f; f() { :; }", "", 0},
		{show, "1 /usr hi function\n", 0},
		{"exit 3", "", 3},
		{show, "unset /tmp nofile nofunc\n", 0},
		{"sleep 100 & echo started", "started\n", 0},
		{"jobs | wc -l", "1\n", 0},
	}
	id := open(t, tool)
	for _, st := range steps {
		res, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: st.code})
		if err != nil || res.Stdout != st.stdout || res.ExitCode != st.exit {
			t.Errorf("Exec(%q) = %+v, %v; want stdout %q exit %d", st.code, res, err, st.stdout, st.exit)
		}
	}
	stateless, err := tool.Open(testCtx(t), plugins.OpenRequest{Stateless: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close(context.Background(), stateless)
	for _, code := range []string{"X=1; cd /usr; echo hi > /tmp/f; f() { :; }", show} {
		res, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: stateless, Code: code})
		if err != nil || code == show && res.Stdout != "unset /tmp nofile nofunc\n" {
			t.Errorf("stateless Exec(%q) = %+v, %v; want a fresh shell", code, res, err)
		}
	}
}

// TestCloseKillsTheBlock: Close while a block runs kills it, and the call
// returns a killed result.
func TestCloseKillsTheBlock(t *testing.T) {
	tool := newTool(t)
	id := open(t, tool)
	done := make(chan plugins.ExecResult, 1)
	go func() {
		res, _ := tool.Exec(context.Background(), plugins.ExecRequest{Session: id, Code: "echo started; sleep 100"})
		done <- res
	}()
	waitRunning(t)
	if err := tool.Close(testCtx(t), id); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case res := <-done:
		if res.ErrorKind != plugins.KindKilled {
			t.Errorf("block after Close: %+v, want kind killed", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Exec still running 30s after Close")
	}
	if _, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: id, Code: "true"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("Exec after Close: %v, want ErrUnknownSession", err)
	}
}

// TestCancelKillsTheBlock: the caller's ctx ending kills the block and
// Exec says why.
func TestCancelKillsTheBlock(t *testing.T) {
	tool := newTool(t)
	id := open(t, tool)
	ctx, cancel := context.WithCancelCause(testCtx(t))
	type out struct {
		res plugins.ExecResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := tool.Exec(ctx, plugins.ExecRequest{Session: id, Code: "sleep 100"})
		done <- out{res, err}
	}()
	waitRunning(t)
	cancel(errors.New("drain"))
	o := <-done
	if o.err == nil || !strings.Contains(o.err.Error(), "drain") || o.res.ErrorKind != plugins.KindKilled {
		t.Errorf("Exec with a cancelled ctx = %+v, %v; want kind killed and the cause", o.res, o.err)
	}
}

// waitRunning waits until a sandboxed sleep runs below this process: a
// state no event announces.
func waitRunning(t *testing.T) {
	t.Helper()
	eventually.True(t, 30*time.Second, "a sandboxed sleep running", func() bool {
		for _, p := range proctest.Descendants(os.Getpid()) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID)); string(comm) == "sleep\n" {
				return true
			}
		}
		return false
	})
}

func TestDescribeAndErrors(t *testing.T) {
	tool := newTool(t)
	d, err := tool.Describe(testCtx(t))
	if err != nil || d.Name != "bash" || strings.Join(d.Languages, ",") != "bash,sh,shell" || d.Limits.Timeout != testLimits.Timeout {
		t.Errorf("Describe = %+v, %v", d, err)
	}
	if _, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: "nope", Code: "true"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("Exec on an unknown session: %v", err)
	}
	if err := tool.Close(testCtx(t), "nope"); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("Close of an unknown session: %v", err)
	}
	id := open(t, tool)
	if _, err := tool.Exec(testCtx(t), plugins.ExecRequest{Session: id, Timeout: -1}); !errors.Is(err, plugins.ErrInvalidRequest) {
		t.Errorf("negative timeout: %v", err)
	}
	tool.Stop()
	if _, err := tool.Open(testCtx(t), plugins.OpenRequest{}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("Open after Stop: %v", err)
	}
}
