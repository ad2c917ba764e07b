package sandbox

import (
	"errors"
	"fmt"
	"syscall"
)

var (
	// ErrNoSandbox: bubblewrap is not installed or does not work here, and
	// WithInsecureNoSandbox was not given, so New refuses to run anything.
	ErrNoSandbox = errors.New("no sandbox: bubblewrap (bwrap) is not available or cannot start; install it (Debian: bubblewrap) or, for development only, run without a sandbox")

	// ErrTimeout: the command ran past its wall-clock limit and the whole
	// sandbox was killed. Wait's *ExitError wraps it.
	ErrTimeout = errors.New("wall-clock limit reached; the sandbox was killed")

	// ErrKilled: Kill ended the command. Wait's *ExitError wraps it.
	ErrKilled = errors.New("sandbox killed")
)

// ExitError is what Wait returns when a command did not exit with status 0.
type ExitError struct {
	// Code is the exit status as a shell reports it: 128+N when signal N
	// ended the command. bwrap reports its child that way too, so a command
	// that itself exits 137 reads the same as one killed by SIGKILL.
	Code int
	// Signal is the signal that ended the command (Code > 128), or 0.
	Signal syscall.Signal
	// Cause says who ended the command when it was not its own doing:
	// ErrTimeout, ErrKilled, or the cause of the Command's ctx. Nil when the
	// command exited or died by itself.
	Cause error
	// Stderr is the tail of what bwrap or the command wrote to stderr, for
	// messages when the command never started properly.
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("sandboxed command exited with status %d", e.Code)
	if e.Signal != 0 {
		msg = fmt.Sprintf("sandboxed command ended by %v (status %d)", e.Signal, e.Code)
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns Cause, so errors.Is(err, ErrTimeout) and
// errors.Is(err, context.Canceled) work.
func (e *ExitError) Unwrap() error { return e.Cause }
