package python

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hintfleet/hintfleet/plugins"
)

// killGrace is how long kill waits for bwrap to exit on its own after the
// sandbox's pid 1 is killed, and how long a call whose interpreter closed
// the protocol pipe waits for it to exit, before killing the whole group.
const killGrace = 2 * time.Second

// proc is one interpreter in its sandbox. It serves one session (or one
// stateless call) and is then killed. Methods other than kill and Done are
// not safe for concurrent use; the session serialises calls.
type proc struct {
	cmd      *exec.Cmd
	req      *os.File // kernel's fd 3, written here
	resp     *os.File // kernel's fd 4, read here
	pidfd    int      // the sandbox's pid 1; -1 in insecure mode
	maxFrame int64
	output   int64
	stderr   *boundedBuffer
	cleanup  func()
	nextID   uint64

	done     chan struct{} // closed once the outer process is reaped
	killOnce sync.Once
}

// start launches one interpreter and waits until it reports ready (its
// preloads imported, its limits set) or ctx ends.
func (l *launch) start(ctx context.Context) (_ *proc, err error) {
	cmd, cleanup, err := l.command()
	if err != nil {
		return nil, err
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (*os.File, *os.File) {
		r, w, perr := os.Pipe()
		if perr != nil && err == nil {
			err = fmt.Errorf("pipe: %w", perr)
		}
		files = append(files, r, w)
		return r, w
	}
	reqR, reqW := pipe()
	respR, respW := pipe()
	infoR, infoW := pipe()
	extra := []*os.File{reqR, respW, infoW}
	if err == nil && l.bwrap != "" {
		var filter *os.File
		if filter, err = seccompPipe(l.seccomp); err == nil {
			files = append(files, filter)
			extra = append(extra, filter)
		}
	}
	if err == nil {
		err = markInheritedCloseOnExec()
	}
	if err != nil {
		closeAll()
		cleanup()
		return nil, err
	}
	p := &proc{
		cmd:      cmd,
		req:      reqW,
		resp:     respR,
		pidfd:    -1,
		maxFrame: maxFrame(l.cfg.limits.OutputBytes),
		output:   l.cfg.limits.OutputBytes,
		stderr:   &boundedBuffer{n: 4 << 10},
		cleanup:  cleanup,
		done:     make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	cmd.WaitDelay = killGrace
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		closeAll()
		cleanup()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	// The child's ends now live in the child; keep only ours.
	for _, f := range extra {
		f.Close()
	}
	go func() {
		// Owned by proc: ends when the process is reaped, which kill forces.
		_ = cmd.Wait()
		close(p.done)
	}()
	defer func() {
		infoR.Close()
		if err != nil {
			p.kill()
			if tail := strings.TrimSpace(p.stderr.String()); tail != "" {
				err = fmt.Errorf("%w; interpreter said: %s", err, tail)
			}
		}
	}()
	deadline := time.Now().Add(l.cfg.startTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if l.bwrap != "" {
		infoR.SetReadDeadline(deadline)
		pid, err := readInfo(infoR)
		if err != nil {
			return nil, err
		}
		if p.pidfd, err = openChildPidfd(pid, cmd.Process.Pid); err != nil {
			return nil, err
		}
	}
	var ready response
	if err := p.read(ctx, deadline, &ready); err != nil {
		return nil, fmt.Errorf("wait for interpreter ready: %w", err)
	}
	if !ready.Ready {
		return nil, fmt.Errorf("wait for interpreter ready: %w: first frame is not ready", errProtocol)
	}
	return p, nil
}

// openChildPidfd opens a pidfd for pid and checks that it is a child of
// parent, so a recycled pid can never make kill hit a stranger.
func openChildPidfd(pid, parent int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		// The comm field may hold spaces and parens; fields after the last ')'.
		s := string(data)
		ppid := -1
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 {
				ppid, err = strconv.Atoi(f[1])
			}
		}
		if err == nil && ppid != parent {
			err = fmt.Errorf("pid %d has parent %d, want %d", pid, ppid, parent)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("check sandbox pid 1: %w", err)
	}
	return fd, nil
}

// read reads one frame from the kernel before deadline; ctx ending
// interrupts it. It returns os.ErrDeadlineExceeded on either.
func (p *proc) read(ctx context.Context, deadline time.Time, resp *response) error {
	if err := p.resp.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("set read deadline: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		p.resp.SetReadDeadline(time.Unix(1, 0))
	})
	defer func() {
		if !stop() {
			<-fired // never let a late wake-up cut the next call's read
		}
	}()
	return readFrame(p.resp, p.maxFrame, resp)
}

// exec runs code and returns its result. A result with ErrorKind timeout,
// killed or crashed means the interpreter is gone (dead reports it). An
// error means ctx ended or the Go side failed; the interpreter is killed
// then too, since the code may still be running.
func (p *proc) exec(ctx context.Context, code string, timeout time.Duration, reset bool) (plugins.ExecResult, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	p.nextID++
	id := p.nextID
	if err := p.req.SetWriteDeadline(deadline); err != nil {
		p.kill()
		return plugins.ExecResult{}, fmt.Errorf("set write deadline: %w", err)
	}
	if err := writeFrame(p.req, request{ID: id, Code: code, Reset: reset}); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return p.timedOut(timeout, start), nil
		}
		return p.died(start, err), nil
	}
	var r response
	err := p.read(ctx, deadline, &r)
	switch {
	case err == nil && r.ID == id && !r.Ready:
		return r.result(p.output, time.Since(start)), nil
	case err == nil:
		p.kill()
		return crashed(start, fmt.Sprintf("%v: response id %d, want %d", errProtocol, r.ID, id)), nil
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		p.kill()
		return plugins.ExecResult{
			ErrorKind: plugins.KindKilled, ExitCode: -1, Duration: time.Since(start),
			Error: "call cancelled; the interpreter was killed",
		}, fmt.Errorf("exec: %w", context.Cause(ctx))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return p.timedOut(timeout, start), nil
	case errors.Is(err, errProtocol):
		p.kill()
		return crashed(start, err.Error()), nil
	default:
		return p.died(start, err), nil
	}
}

func (p *proc) timedOut(timeout time.Duration, start time.Time) plugins.ExecResult {
	p.kill()
	return plugins.ExecResult{
		ErrorKind: plugins.KindTimeout, ExitCode: -1, Duration: time.Since(start),
		Error: fmt.Sprintf("wall-clock timeout after %v; the interpreter was killed and the session's state is lost", timeout),
	}
}

func crashed(start time.Time, msg string) plugins.ExecResult {
	return plugins.ExecResult{ErrorKind: plugins.KindCrashed, ExitCode: -1, Duration: time.Since(start), Error: msg}
}

// died reports an interpreter that stopped answering mid-call: it waits for
// the process to exit (killing it if it lingers after closing its pipes)
// and classifies how it ended.
func (p *proc) died(start time.Time, cause error) plugins.ExecResult {
	t := time.NewTimer(killGrace)
	select {
	case <-p.done:
		t.Stop()
	case <-t.C:
	}
	p.kill()
	res := plugins.ExecResult{ExitCode: -1, Duration: time.Since(start)}
	st := p.cmd.ProcessState
	if st == nil {
		res.ErrorKind, res.Error = plugins.KindCrashed, fmt.Sprintf("interpreter stopped answering: %v", cause)
		return res
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	var sig syscall.Signal
	switch {
	case ws.Signaled():
		sig = ws.Signal()
	case p.pidfd >= 0 && ws.ExitStatus() > 128:
		// bwrap reports a child killed by signal N as exit status 128+N.
		sig = syscall.Signal(ws.ExitStatus() - 128)
	}
	if sig == 0 {
		res.ExitCode = ws.ExitStatus()
		res.ErrorKind = plugins.KindCrashed
		res.Error = fmt.Sprintf("interpreter exited with status %d; the session's state is lost", res.ExitCode)
	} else {
		res.ExitCode = 128 + int(sig)
		res.ErrorKind, res.Error = signalKind(sig)
	}
	if tail := strings.TrimSpace(p.stderr.String()); tail != "" {
		res.Stderr = tail
	}
	return res
}

// signalKind classifies how a signal ended the interpreter.
func signalKind(sig syscall.Signal) (plugins.ErrorKind, string) {
	switch sig {
	case syscall.SIGXCPU:
		return plugins.KindTimeout, "CPU time limit hit (SIGXCPU); the session's state is lost"
	case syscall.SIGXFSZ:
		return plugins.KindOutputLimit, "file size limit hit (SIGXFSZ); the session's state is lost"
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGABRT, syscall.SIGILL, syscall.SIGFPE:
		return plugins.KindCrashed, fmt.Sprintf("interpreter crashed (%v); the session's state is lost", sig)
	default:
		return plugins.KindKilled, fmt.Sprintf("interpreter killed (%v); the session's state is lost", sig)
	}
}

// dead reports whether the interpreter has exited or been killed.
func (p *proc) dead() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the interpreter and everything it started, and returns once
// all of it is gone. In a sandbox it kills pid 1 of the sandbox's pid
// namespace and waits on its pidfd: the kernel kills every process of the
// namespace and waits for them before pid 1 counts as exited, so when kill
// returns nothing of the sandbox runs. (Waiting for bwrap's outer process
// is not enough: it exits as soon as pid 1 reports the interpreter's exit
// status, while pid 1 may still be tearing the namespace down.) Safe to
// call many times and concurrently.
func (p *proc) kill() {
	p.killOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		if p.pidfd >= 0 {
			unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
			waitPidfd(p.pidfd, nsTeardownLimit)
		} else {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		t := time.NewTimer(killGrace)
		select {
		case <-p.done:
			t.Stop()
		case <-t.C:
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		if p.pidfd >= 0 {
			unix.Close(p.pidfd)
		}
		p.req.Close()
		p.resp.Close()
		p.cleanup()
	})
	<-p.done
}

// nsTeardownLimit bounds the wait for a killed sandbox's pid namespace to
// empty; the kernel does it in milliseconds, even for a fork bomb.
const nsTeardownLimit = 30 * time.Second

// waitPidfd waits until the process behind fd has exited or limit passes.
// It blocks its thread in poll(2); the Go runtime hands the P to others.
func waitPidfd(fd int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return false
		case n > 0:
			return true
		}
	}
}

// pid returns the host pid of the outer process (bwrap, or the interpreter
// in insecure mode).
func (p *proc) pid() int { return p.cmd.Process.Pid }

var _ io.Writer = (*boundedBuffer)(nil)
