package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killGrace is how long Kill waits for bwrap to exit on its own after the
// sandbox's pid 1 is killed before it kills bwrap's process group.
const killGrace = 2 * time.Second

// nsTeardownLimit bounds the wait for a killed sandbox's pid namespace to
// empty; the kernel does it in milliseconds, even for a fork bomb.
const nsTeardownLimit = 30 * time.Second

// Cmd is one command in its own sandbox. Set the exported fields before
// Start, as with exec.Cmd; Wait (or Run) must be called to release it.
// Kill and Done are safe to call from any goroutine.
type Cmd struct {
	// Path and Args are the command and its arguments (Args[0] is the
	// name), as given to Command.
	Path string
	Args []string
	// Env is added to the sandbox's environment (KEY=VALUE).
	Env []string
	// Stdin, Stdout and Stderr are as in exec.Cmd: nil means /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles are the command's descriptors 3, 4, … (as in exec.Cmd):
	// the only descriptors besides stdio that reach it.
	ExtraFiles []*os.File
	// Timeout is the wall-clock limit from Start; Command sets it to the
	// Sandbox's Limits.Timeout. Zero: no limit but the ctx (a long-lived
	// interpreter that its owner kills).
	Timeout time.Duration

	sb   *Sandbox
	ctx  context.Context
	cmd  *exec.Cmd
	tail *TailBuffer

	pidfd    int // the sandbox's pid 1; -1 in insecure mode
	done     chan struct{}
	waitErr  error // of exec.Cmd.Wait, set before done closes
	cleanup  func()
	stops    []func() bool
	killOnce sync.Once

	mu    sync.Mutex
	cause error // why the sandbox was killed from outside
}

// Command returns the Cmd to run name with args in a fresh sandbox. The
// binary name (an absolute path; PATH inside the sandbox is
// /usr/local/bin:/usr/bin:/bin for a bare name) is bound read-only with
// its symlink target. When ctx ends the sandbox is killed, as with
// exec.CommandContext.
func (s *Sandbox) Command(ctx context.Context, name string, args ...string) *Cmd {
	return &Cmd{
		Path:    name,
		Args:    append([]string{name}, args...),
		Timeout: s.cfg.limits.Timeout,
		sb:      s,
		ctx:     ctx,
		tail:    NewTailBuffer(4 << 10),
		pidfd:   -1,
		done:    make(chan struct{}),
	}
}

// Start starts the sandbox and returns once the command runs under its
// limits: bwrap has built the namespaces and mounts and reported the
// sandbox's pid 1, the rlimits are set on it, and only then is it let go
// on to load the seccomp filter and exec the command.
func (c *Cmd) Start() (err error) {
	if c.cmd != nil {
		return errors.New("sandbox: Start called twice")
	}
	if err := c.ctx.Err(); err != nil {
		return fmt.Errorf("start %s: %w", c.Path, context.Cause(c.ctx))
	}
	var files []*os.File // every pipe end opened here, closed on failure
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	env := slices.Concat(baseEnv, c.sb.cfg.env, c.Env)
	var infoR, blockW *os.File
	if c.sb.bwrap == "" {
		dir, err := os.MkdirTemp("", "hintfleet-sandbox-insecure-")
		if err != nil {
			return fmt.Errorf("insecure work dir: %w", err)
		}
		c.cleanup = func() { os.RemoveAll(dir) }
		c.cmd = exec.Command(c.Path, c.Args[1:]...)
		c.cmd.Dir = dir
		c.cmd.Env = append(env, "HOME="+dir, "TMPDIR="+dir)
		c.cmd.ExtraFiles = c.ExtraFiles
	} else {
		c.cleanup = func() {}
		var infoW, blockR, filter *os.File
		if infoR, infoW, err = os.Pipe(); err != nil {
			return fmt.Errorf("info pipe: %w", err)
		}
		files = append(files, infoR, infoW)
		if blockR, blockW, err = os.Pipe(); err != nil {
			return fmt.Errorf("block pipe: %w", err)
		}
		files = append(files, blockR, blockW)
		if filter, err = seccompPipe(c.sb.seccomp); err != nil {
			return err
		}
		files = append(files, filter)
		n := 3 + len(c.ExtraFiles)
		fd := func(k int) string { return strconv.Itoa(n + k) }
		args := append(c.sb.bwrapArgs(c.sb.bindsFor(c.Path), env),
			"--info-fd", fd(0), "--block-fd", fd(1), "--seccomp", fd(2), "--")
		c.cmd = exec.Command(c.sb.bwrap, append(args, c.Args...)...)
		c.cmd.Dir = "/"
		c.cmd.Env = []string{}
		c.cmd.ExtraFiles = append(slices.Clone(c.ExtraFiles), infoW, blockR, filter)
	}
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if c.sb.asNobody {
		c.cmd.SysProcAttr.Credential = &syscall.Credential{Uid: NobodyID, Gid: NobodyID, Groups: []uint32{}}
	}
	c.cmd.Stdin, c.cmd.Stdout = c.Stdin, c.Stdout
	switch f, isFile := c.Stderr.(*os.File); {
	case isFile:
		c.cmd.Stderr = f // passed as is; the caller reads it
	case c.Stderr != nil:
		c.cmd.Stderr = io.MultiWriter(c.Stderr, c.tail)
	default:
		c.cmd.Stderr = c.tail
	}
	c.cmd.WaitDelay = killGrace
	if err := markInheritedCloseOnExec(); err != nil {
		c.cleanup()
		return fmt.Errorf("start %s: %w", c.Path, err)
	}
	if err := c.cmd.Start(); err != nil {
		c.cleanup()
		return fmt.Errorf("start %s: %w", c.Path, err)
	}
	// The child's ends now live in the child; keep only ours.
	for _, f := range c.cmd.ExtraFiles[len(c.ExtraFiles):] {
		f.Close()
	}
	go func() {
		// Owned by c: ends when the process is reaped, which Kill forces.
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	if c.sb.bwrap == "" {
		c.watch()
		if err := setLimits(c.cmd.Process.Pid, c.sb.cfg.limits); err != nil {
			c.stopWatch()
			c.kill(ErrKilled)
			return fmt.Errorf("start %s: %w", c.Path, err)
		}
		return nil
	}
	defer func() {
		infoR.Close()
		blockW.Close()
		if err != nil {
			c.stopWatch()
			c.kill(ErrKilled)
			if tail := strings.TrimSpace(c.tail.String()); tail != "" {
				err = fmt.Errorf("%w; bwrap said: %s", err, tail)
			}
		}
	}()
	// Killing while bwrap sets up kills its process group; from here on
	// Kill also reaches the pid namespace.
	c.watch()
	deadline := time.Now().Add(c.sb.cfg.startTimeout)
	if d, ok := c.ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	infoR.SetReadDeadline(deadline)
	pid, err := readInfo(infoR)
	if err != nil {
		return fmt.Errorf("start %s: %w", c.Path, err)
	}
	pidfd, err := openChildPidfd(pid, c.cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("start %s: %w", c.Path, err)
	}
	c.mu.Lock()
	c.pidfd = pidfd
	c.mu.Unlock()
	if err := setLimitsAs(pid, c.sb.cfg.limits, c.sb.asNobody); err != nil {
		return fmt.Errorf("start %s: %w", c.Path, err)
	}
	if _, err := blockW.Write([]byte{1}); err != nil {
		return fmt.Errorf("start %s: release the sandbox: %w", c.Path, err)
	}
	return nil
}

// watch arms the ctx and the wall-clock limit.
func (c *Cmd) watch() {
	c.stops = append(c.stops, context.AfterFunc(c.ctx, func() { c.kill(context.Cause(c.ctx)) }))
	if c.Timeout > 0 {
		t := time.AfterFunc(c.Timeout, func() { c.kill(ErrTimeout) })
		c.stops = append(c.stops, t.Stop)
	}
}

func (c *Cmd) stopWatch() {
	for _, stop := range c.stops {
		stop()
	}
}

// Wait waits for the command to exit and for its output to be copied, and
// returns nil for status 0, otherwise an *ExitError (whose Cause is
// ErrTimeout, ErrKilled or the ctx's cause when the sandbox was killed
// from outside). When Wait returns, nothing of the sandbox runs.
func (c *Cmd) Wait() error {
	if c.cmd == nil {
		return errors.New("sandbox: Wait before Start")
	}
	<-c.done
	c.stopWatch()
	c.kill(nil) // the namespace may outlive bwrap's outer process briefly
	return c.exitError()
}

// Run starts the command and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its stdout.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("sandbox: Stdout already set")
	}
	var b bytes.Buffer
	c.Stdout = &b
	err := c.Run()
	return b.Bytes(), err
}

// Kill kills the command and everything it started and returns once all of
// it is gone. Wait then returns an *ExitError wrapping ErrKilled. Safe to
// call many times, concurrently, and before Start (no-op).
func (c *Cmd) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.kill(ErrKilled)
}

// Done is closed once the sandbox's outer process has exited and been
// reaped.
func (c *Cmd) Done() <-chan struct{} { return c.done }

// Pid returns the host pid of the outer process (bwrap, or the command in
// insecure mode); 0 before Start.
func (c *Cmd) Pid() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// StderrTail returns the last few KiB the command (or bwrap) wrote to
// stderr; empty when Stderr is an *os.File, which the command writes to
// directly.
func (c *Cmd) StderrTail() string { return c.tail.String() }

// kill ends the sandbox: it kills pid 1 of the sandbox's pid namespace and
// waits on its pidfd, since the kernel kills every process of the
// namespace and waits for them before pid 1 counts as exited. (Waiting for
// bwrap's outer process is not enough: it exits as soon as pid 1 reports
// the command's status, while pid 1 may still be tearing the namespace
// down.) cause, if not nil, is recorded as why, unless the command had
// already exited.
func (c *Cmd) kill(cause error) {
	if cause != nil {
		c.mu.Lock()
		select {
		case <-c.done:
		default:
			if c.cause == nil {
				c.cause = cause
			}
		}
		c.mu.Unlock()
	}
	c.killOnce.Do(func() {
		pgid := c.cmd.Process.Pid
		c.mu.Lock()
		pidfd := c.pidfd
		c.mu.Unlock()
		if pidfd >= 0 {
			unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			waitPidfd(pidfd, nsTeardownLimit)
		} else {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		t := time.NewTimer(killGrace)
		select {
		case <-c.done:
			t.Stop()
		case <-t.C:
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-c.done
		}
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
		c.cleanup()
	})
	<-c.done
}

// exitError classifies how the command ended.
func (c *Cmd) exitError() error {
	c.mu.Lock()
	cause := c.cause
	c.mu.Unlock()
	st := c.cmd.ProcessState
	if st == nil {
		return fmt.Errorf("wait for %s: %w", c.Path, c.waitErr)
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	e := &ExitError{Code: ws.ExitStatus(), Cause: cause}
	switch {
	case ws.Signaled():
		e.Signal = ws.Signal()
		e.Code = 128 + int(e.Signal)
	case c.sb.bwrap != "" && e.Code > 128 && e.Code < 128+65:
		// bwrap reports a child killed by signal N as exit status 128+N.
		e.Signal = syscall.Signal(e.Code - 128)
	}
	if e.Code == 0 && cause == nil {
		if c.waitErr != nil && !errors.As(c.waitErr, new(*exec.ExitError)) {
			// The command exited 0 but its output could not be copied.
			return fmt.Errorf("wait for %s: %w", c.Path, c.waitErr)
		}
		return nil
	}
	if e.Code != 0 {
		e.Stderr = strings.TrimSpace(c.tail.String())
	}
	return e
}

// openChildPidfd opens a pidfd for pid and checks that it is a child of
// parent, so a recycled pid can never make Kill hit a stranger.
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

// readInfo reads bwrap's --info-fd JSON and returns the host pid of the
// sandbox's pid 1. bwrap closes the fd after writing, so EOF ends it.
func readInfo(r io.Reader) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("read bwrap info: %w", err)
	}
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return 0, fmt.Errorf("decode bwrap info %q: %w", data, err)
	}
	if info.ChildPID <= 0 {
		return 0, errors.New("bwrap info: no child-pid")
	}
	return info.ChildPID, nil
}
