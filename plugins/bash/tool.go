package bash

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// Version is reported by Describe.
const Version = "0.1.0"

// Languages are the fence languages the tool serves.
var Languages = []string{"bash", "sh", "shell"}

var (
	// ErrClosed: the Tool was stopped. It matches plugins.ErrUnavailable.
	ErrClosed = fmt.Errorf("bash tool closed: %w", plugins.ErrUnavailable)
	// errSessionClosed is why a block still running is killed by Close.
	errSessionClosed = errors.New("session closed")
)

// Tool is the bash tool: each block runs as bash -c in a fresh sandbox. It
// implements plugins.Tool and is safe for concurrent use; Stop ends it.
type Tool struct {
	cfg config
	sb  *sandbox.Sandbox

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	calls    sync.WaitGroup // Exec calls in flight
}

var _ plugins.Tool = (*Tool)(nil)

// session serialises the blocks of one trajectory; cancelling its ctx
// kills the block that runs. sh, the session's shell, is used under lock.
type session struct {
	trajectory string
	stateless  bool
	lock       chan struct{}
	ctx        context.Context
	cancel     context.CancelCauseFunc
	timer      *time.Timer
	sh         *shell
}

// New prepares the sandbox (plugins/sandbox.New: bubblewrap found and
// started once) with this tool's limits and binds.
func New(ctx context.Context, opts ...Option) (*Tool, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("bash tool option: %w", err)
		}
	}
	if _, err := os.Stat(cfg.bash); err != nil {
		return nil, fmt.Errorf("bash: %w", err)
	}
	sopts := append([]sandbox.Option{
		sandbox.WithLimits(sandbox.Limits{
			Timeout:     cfg.limits.Timeout,
			CPUTime:     cfg.cpuTime,
			MemoryBytes: cfg.limits.MemoryBytes,
			Processes:   cfg.limits.Processes,
			FileBytes:   cfg.limits.FileBytes,
			OpenFiles:   cfg.limits.OpenFiles,
			TmpfsBytes:  cfg.limits.TmpfsBytes,
		}),
		sandbox.WithReadOnlyBind(cfg.binds...),
		sandbox.WithLogger(cfg.logger),
	}, cfg.sandbox...)
	sb, err := sandbox.New(ctx, sopts...)
	if err != nil {
		return nil, fmt.Errorf("bash tool: %w", err)
	}
	return &Tool{cfg: cfg, sb: sb, sessions: make(map[string]*session)}, nil
}

// Describe implements plugins.Tool.
func (t *Tool) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Name:      "bash",
		Version:   Version,
		Languages: append([]string{}, Languages...),
		Limits:    t.cfg.limits,
	}, nil
}

// Open implements plugins.Tool. A session's blocks run in one shell in one
// sandbox, started here, so what a block defines or writes is there for
// the next; a stateless session runs each block in a fresh sandbox.
func (t *Tool) Open(_ context.Context, req plugins.OpenRequest) (string, error) {
	if req.TTL < 0 {
		return "", fmt.Errorf("open session: ttl %v: %w", req.TTL, plugins.ErrInvalidRequest)
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = t.cfg.sessionTTL
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &session{trajectory: req.Trajectory, stateless: req.Stateless, lock: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	if !req.Stateless {
		var err error
		if s.sh, err = t.startShell(); err != nil {
			cancel(err)
			return "", fmt.Errorf("open session for %q: %w", req.Trajectory, err)
		}
	}
	id := rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		cancel(ErrClosed)
		if s.sh != nil {
			s.sh.close()
		}
		return "", ErrClosed
	}
	t.sessions[id] = s
	s.timer = time.AfterFunc(ttl, func() {
		// Ends the session like Close, from the timer's goroutine.
		if t.remove(id) != nil {
			t.cfg.logger.Info("session ttl expired", "session", id, "trajectory", req.Trajectory)
		}
	})
	return id, nil
}

// Close implements plugins.Tool: the session's shell and a block still
// running are killed, and Close returns once nothing of them runs.
func (t *Tool) Close(_ context.Context, id string) error {
	if t.remove(id) == nil {
		return fmt.Errorf("close session %q: %w", id, plugins.ErrUnknownSession)
	}
	return nil
}

// remove forgets a session and ends it.
func (t *Tool) remove(id string) *session {
	t.mu.Lock()
	s, ok := t.sessions[id]
	delete(t.sessions, id)
	t.mu.Unlock()
	if !ok {
		return nil
	}
	s.end(errSessionClosed)
	return s
}

// end kills the block in flight, waits for its call to return and kills
// the shell.
func (s *session) end(cause error) {
	s.timer.Stop()
	s.cancel(cause)
	s.lock <- struct{}{} // the block in flight, if any, has been killed and returned
	if s.sh != nil {
		s.sh.close()
		s.sh = nil
	}
	<-s.lock
}

// Stop ends every session (their blocks in flight killed) and returns once
// all calls have returned and nothing of them runs. Later calls fail with
// ErrClosed.
func (t *Tool) Stop() {
	t.mu.Lock()
	t.closed = true
	sessions := t.sessions
	t.sessions = map[string]*session{}
	t.mu.Unlock()
	for _, s := range sessions {
		s.end(ErrClosed)
	}
	t.calls.Wait()
}

// Exec implements plugins.Tool: it runs req.Code as `bash -c` in a fresh
// sandbox, for req.Timeout capped by the tool's Limits.Timeout. The code's
// failures (exit status, limits hit) are results; an error means ctx ended
// (the block was killed) or the sandbox would not start.
func (t *Tool) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	if req.Timeout < 0 {
		return plugins.ExecResult{}, fmt.Errorf("exec: timeout %v: %w", req.Timeout, plugins.ErrInvalidRequest)
	}
	t.mu.Lock()
	s, ok := t.sessions[req.Session]
	closed := t.closed
	if ok {
		t.calls.Add(1)
	}
	t.mu.Unlock()
	switch {
	case closed:
		return plugins.ExecResult{}, fmt.Errorf("exec: %w", ErrClosed)
	case !ok:
		return plugins.ExecResult{}, fmt.Errorf("exec: session %q: %w", req.Session, plugins.ErrUnknownSession)
	}
	defer t.calls.Done()
	select {
	case s.lock <- struct{}{}:
		defer func() { <-s.lock }()
	case <-ctx.Done():
		return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", req.Session, context.Cause(ctx))
	case <-s.ctx.Done():
		return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", req.Session, plugins.ErrUnknownSession)
	}
	if s.ctx.Err() != nil {
		return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", req.Session, plugins.ErrUnknownSession)
	}
	start := time.Now()
	if len(req.Code) > MaxCodeBytes {
		return plugins.ExecResult{
			ExitCode: 2, Duration: time.Since(start),
			Stderr: fmt.Sprintf("bash: the block is %d bytes, over the %d a block may have; split it\n", len(req.Code), MaxCodeBytes),
		}, nil
	}
	if strings.IndexByte(req.Code, 0) >= 0 {
		return plugins.ExecResult{ExitCode: 2, Duration: time.Since(start), Stderr: "bash: the block holds a NUL byte, which no shell script can\n"}, nil
	}
	timeout := t.cfg.limits.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
	defer stop()
	if s.stateless {
		return t.run(cctx, ctx, req.Code, timeout, start)
	}
	if s.sh == nil || s.sh.dead() {
		if s.sh != nil {
			s.sh.close()
		}
		var err error
		if s.sh, err = t.startShell(); err != nil {
			return plugins.ExecResult{}, fmt.Errorf("exec in session %s: %w", req.Session, err)
		}
	}
	res, alive, err := t.runInShell(cctx, ctx, s.sh, req.Code, timeout, start)
	if !alive {
		s.sh.close()
		s.sh = nil
	}
	return res, err
}

// run runs one block. Its stdout and stderr are memfds: the sandbox's
// RLIMIT_FSIZE bounds what it can write to them (a `yes` gets SIGXFSZ at
// Limits.FileBytes instead of running until the timeout), and the host
// keeps the first Limits.OutputBytes of each.
func (t *Tool) run(ctx, callCtx context.Context, code string, timeout time.Duration, start time.Time) (plugins.ExecResult, error) {
	stdout, err := memfd("stdout")
	if err != nil {
		return plugins.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	defer stdout.Close()
	stderr, err := memfd("stderr")
	if err != nil {
		return plugins.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	defer stderr.Close()
	cmd := t.sb.Command(ctx, t.cfg.bash, "-c", code)
	cmd.Timeout = timeout
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	res := plugins.ExecResult{Duration: time.Since(start)}
	var errs [2]error
	res.Stdout, res.StdoutTruncated, errs[0] = readCapped(stdout, t.cfg.limits.OutputBytes)
	res.Stderr, res.StderrTruncated, errs[1] = readCapped(stderr, t.cfg.limits.OutputBytes)
	if err := errors.Join(errs[:]...); err != nil {
		return plugins.ExecResult{}, fmt.Errorf("exec: read output: %w", err)
	}
	var ee *sandbox.ExitError
	switch {
	case runErr == nil:
	case !errors.As(runErr, &ee):
		return plugins.ExecResult{}, fmt.Errorf("exec: %w", runErr)
	case errors.Is(runErr, sandbox.ErrTimeout):
		res.ExitCode, res.ErrorKind = -1, plugins.KindTimeout
		res.Error = fmt.Sprintf("wall-clock timeout after %v; the block was killed", timeout)
	case callCtx.Err() != nil:
		res.ExitCode, res.ErrorKind = -1, plugins.KindKilled
		res.Error = "call cancelled; the block was killed"
		return res, fmt.Errorf("exec: %w", context.Cause(callCtx))
	case ee.Cause != nil:
		res.ExitCode, res.ErrorKind = -1, plugins.KindKilled
		res.Error = fmt.Sprintf("block killed: %v", ee.Cause)
	default:
		res.ExitCode = ee.Code
		res.ErrorKind, res.Error = signalKind(ee.Signal)
	}
	if res.ErrorKind == plugins.KindNone && (res.StdoutTruncated || res.StderrTruncated) {
		res.ErrorKind = plugins.KindOutputLimit
		res.Error = fmt.Sprintf("output over %d bytes; the rest was dropped", t.cfg.limits.OutputBytes)
	}
	return res, nil
}

// signalKind classifies the signal that ended a block's last command (bash
// reports a child killed by signal N as 128+N, as bwrap does for bash
// itself). The limits' signals are limits; a crash of the code's own
// programs is its exit status, as a shell shows it.
func signalKind(sig syscall.Signal) (plugins.ErrorKind, string) {
	switch sig {
	case 0:
		return plugins.KindNone, ""
	case syscall.SIGXCPU:
		return plugins.KindTimeout, "CPU time limit hit (SIGXCPU)"
	case syscall.SIGXFSZ:
		return plugins.KindOutputLimit, "file size limit hit (SIGXFSZ): output or a file grew past the limit"
	case syscall.SIGKILL:
		return plugins.KindKilled, "killed (SIGKILL)"
	default:
		return plugins.KindNone, ""
	}
}

// memfd returns an anonymous in-memory file, for a block's output.
func memfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate("hintfleet-bash-"+name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// readCapped returns the first max bytes of f as valid UTF-8 and whether
// f held more.
func readCapped(f *os.File, max int64) (string, bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	buf := make([]byte, min(fi.Size(), max))
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD"), fi.Size() > max, nil
}
