package python

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// killGrace is how long a call whose interpreter closed the protocol pipe
// waits for it to exit before killing its sandbox.
const killGrace = 2 * time.Second

// proc is one interpreter in its sandbox. It serves one session (or one
// stateless call) and is then killed. Methods other than kill and dead are
// not safe for concurrent use; the session serialises calls.
type proc struct {
	cmd      *sandbox.Cmd
	req      *os.File // kernel's fd 3, written here
	resp     *os.File // kernel's fd 4, read here
	maxFrame int64
	output   int64
	stderr   *sandbox.TailBuffer
	nextID   uint64

	killOnce sync.Once
}

// start launches one interpreter and waits until it reports ready (its
// preloads imported, its limits set) or ctx ends.
func (l *launch) start(ctx context.Context) (_ *proc, err error) {
	cmd := l.command()
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	p := &proc{
		cmd:      cmd,
		req:      reqW,
		resp:     respR,
		maxFrame: maxFrame(l.cfg.limits.OutputBytes),
		output:   l.cfg.limits.OutputBytes,
		stderr:   sandbox.NewTailBuffer(4 << 10),
	}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	cmd.ExtraFiles = []*os.File{reqR, respW}
	err = cmd.Start()
	// The child's ends now live in the child; keep only ours.
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, err
	}
	defer func() {
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
	var ready response
	if err := p.read(ctx, deadline, &ready); err != nil {
		return nil, fmt.Errorf("wait for interpreter ready: %w", err)
	}
	if !ready.Ready {
		return nil, fmt.Errorf("wait for interpreter ready: %w: first frame is not ready", errProtocol)
	}
	return p, nil
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
	case <-p.cmd.Done():
		t.Stop()
	case <-t.C:
	}
	p.kill()
	res := plugins.ExecResult{ExitCode: -1, Duration: time.Since(start)}
	var ee *sandbox.ExitError
	switch err := p.cmd.Wait(); {
	case err == nil:
		res.ExitCode, res.ErrorKind = 0, plugins.KindCrashed
		res.Error = "interpreter exited; the session's state is lost"
	case !errors.As(err, &ee):
		res.ErrorKind, res.Error = plugins.KindCrashed, fmt.Sprintf("interpreter stopped answering: %v (%v)", cause, err)
	case ee.Signal == 0:
		res.ExitCode, res.ErrorKind = ee.Code, plugins.KindCrashed
		res.Error = fmt.Sprintf("interpreter exited with status %d; the session's state is lost", ee.Code)
	default:
		res.ExitCode = ee.Code
		res.ErrorKind, res.Error = signalKind(ee.Signal)
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
	case <-p.cmd.Done():
		return true
	default:
		return false
	}
}

// kill ends the interpreter and everything it started and returns once all
// of it is gone (sandbox.Cmd.Kill), then closes the protocol pipes. Safe to
// call many times and concurrently.
func (p *proc) kill() {
	p.cmd.Kill()
	p.killOnce.Do(func() {
		p.req.Close()
		p.resp.Close()
	})
}

// pid returns the host pid of the outer process (bwrap, or the interpreter
// in insecure mode).
func (p *proc) pid() int { return p.cmd.Pid() }
