package bash

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// driver is the loop a session's shell runs: it reads each block up to a
// NUL from fd 62, evaluates it in the shell itself (so variables,
// functions, the working directory and background jobs carry over to the
// next block), and answers its status on fd 63. The protocol descriptors
// are moved out of the way of the code's own 3 and 4 and closed while a
// block runs, so the code's programs never inherit them. One line, so the
// shell's messages about a block read as bash -c's ("bash: line 2: ...").
const driver = `exec 62<&3 63>&4 3<&- 4>&-; while IFS= read -r -d '' __hintfleet_block <&62; do eval "$__hintfleet_block" 62<&- 63>&-; printf '%d\n' "$?" >&63; done`

// exitGrace is how long a shell that closed its status pipe may take to
// exit before it is killed.
const exitGrace = 2 * time.Second

// errForged: the status line is not the driver's; only the block could have
// written it, so the shell is killed.
var errForged = errors.New("status line forged by the block")

// freshShell is said of a block that ended its session's shell.
const freshShell = "the shell ended; the next block starts a fresh one (variables, functions, the working directory and /tmp are reset)"

// shell is a session's bash in its own sandbox, alive across blocks. Its
// stdout and stderr are memfds, emptied before each block. Not safe for
// concurrent use; the session serialises blocks.
type shell struct {
	cmd            *sandbox.Cmd
	req            *os.File // the shell's fd 3 (62), written here
	resp           *bufio.Reader
	respFile       *os.File // the shell's fd 4 (63), read here
	stdout, stderr *os.File
}

// startShell starts a session's shell; it waits for nothing: the shell
// reads its first block whenever it comes.
func (t *Tool) startShell() (_ *shell, err error) {
	sh := &shell{}
	defer func() {
		if err != nil {
			sh.close()
		}
	}()
	if sh.stdout, err = memfd("stdout"); err != nil {
		return nil, err
	}
	if sh.stderr, err = memfd("stderr"); err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	sh.req = reqW
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	sh.respFile, sh.resp = respR, bufio.NewReader(respR)
	// The shell lives until the session ends: no wall-clock limit of its
	// own; each block has one (run).
	sh.cmd = t.sb.Command(context.Background(), t.cfg.bash, "--noprofile", "--norc", "-c", driver, "bash")
	sh.cmd.Timeout = 0
	sh.cmd.Stdout, sh.cmd.Stderr = sh.stdout, sh.stderr
	sh.cmd.ExtraFiles = []*os.File{reqR, respW}
	err = sh.cmd.Start()
	reqR.Close()
	respW.Close()
	if err != nil {
		sh.cmd = nil
		return nil, fmt.Errorf("start the session's shell: %w", err)
	}
	return sh, nil
}

// close kills the shell, if any, and releases its files.
func (sh *shell) close() {
	if sh.cmd != nil {
		sh.cmd.Kill()
	}
	for _, f := range []*os.File{sh.req, sh.respFile, sh.stdout, sh.stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// dead reports whether the shell has exited.
func (sh *shell) dead() bool {
	select {
	case <-sh.cmd.Done():
		return true
	default:
		return false
	}
}

// run runs one block in the shell. alive says whether the shell can take
// the next block; when it cannot, the caller closes it and the session
// starts a fresh one.
func (t *Tool) runInShell(ctx, callCtx context.Context, sh *shell, code string, timeout time.Duration, start time.Time) (res plugins.ExecResult, alive bool, err error) {
	for _, f := range []*os.File{sh.stdout, sh.stderr} {
		// The shell's descriptors share the file offset with these: back to
		// the start, and RLIMIT_FSIZE counts from zero again.
		if err := f.Truncate(0); err != nil {
			return res, false, fmt.Errorf("exec: reset output: %w", err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			return res, false, fmt.Errorf("exec: reset output: %w", err)
		}
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		sh.cmd.Kill()
	})
	defer timer.Stop()
	stop := context.AfterFunc(ctx, sh.cmd.Kill)
	defer stop()
	status, readErr := sh.exchange(code)
	res.Duration = time.Since(start)
	var errs [2]error
	res.Stdout, res.StdoutTruncated, errs[0] = readCapped(sh.stdout, t.cfg.limits.OutputBytes)
	res.Stderr, res.StderrTruncated, errs[1] = readCapped(sh.stderr, t.cfg.limits.OutputBytes)
	if err := errors.Join(errs[:]...); err != nil {
		return res, false, fmt.Errorf("exec: read output: %w", err)
	}
	switch {
	case readErr == nil:
		res.ExitCode = status
		if status > 128 && status < 128+65 {
			// The block's last command died of a signal.
			res.ErrorKind, res.Error = signalKind(syscall.Signal(status - 128))
		}
		alive = true
	case timedOut.Load():
		res.ExitCode, res.ErrorKind = -1, plugins.KindTimeout
		res.Error = fmt.Sprintf("wall-clock timeout after %v; the block was killed and %s", timeout, freshShell)
	case callCtx.Err() != nil:
		res.ExitCode, res.ErrorKind = -1, plugins.KindKilled
		res.Error = "call cancelled; the block was killed"
		return res, false, fmt.Errorf("exec: %w", context.Cause(callCtx))
	case ctx.Err() != nil:
		res.ExitCode, res.ErrorKind = -1, plugins.KindKilled
		res.Error = fmt.Sprintf("block killed: %v", context.Cause(ctx))
	default:
		// The shell itself ended (the block ran exit, or a limit's signal
		// reached it), or the block wrote to the status descriptor.
		if errors.Is(readErr, errForged) {
			sh.cmd.Kill()
		}
		t := time.NewTimer(exitGrace)
		select {
		case <-sh.cmd.Done():
			t.Stop()
		case <-t.C:
			sh.cmd.Kill() // it closed the pipes but lingers
		}
		var ee *sandbox.ExitError
		switch werr := sh.cmd.Wait(); {
		case werr == nil:
		case errors.As(werr, &ee):
			res.ExitCode = ee.Code
			res.ErrorKind, res.Error = signalKind(ee.Signal)
		default:
			return res, false, fmt.Errorf("exec: %w", werr)
		}
		res.Error = strings.TrimPrefix(res.Error+"; "+freshShell, "; ")
	}
	if res.ErrorKind == plugins.KindNone && (res.StdoutTruncated || res.StderrTruncated) {
		res.ErrorKind = plugins.KindOutputLimit
		res.Error = strings.TrimPrefix(fmt.Sprintf("output over %d bytes; the rest was dropped; %s", t.cfg.limits.OutputBytes, res.Error), "; ")
		res.Error = strings.TrimSuffix(res.Error, "; ")
	}
	return res, alive, nil
}

// exchange sends a block and reads its status line. An error means the
// shell is gone (killed, or it exited).
func (sh *shell) exchange(code string) (int, error) {
	if _, err := sh.req.WriteString(code + "\x00"); err != nil {
		return 0, fmt.Errorf("send block: %w", err)
	}
	line, err := sh.resp.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	status, err := strconv.Atoi(strings.TrimSuffix(line, "\n"))
	if err != nil {
		return 0, fmt.Errorf("read status: %q: %w", line, errForged)
	}
	return status, nil
}
