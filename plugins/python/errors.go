package python

import (
	"errors"
	"fmt"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

var (
	// ErrNoSandbox: bubblewrap is not installed (or does not work here) and
	// sandbox.WithInsecureNoSandbox was not given (WithSandboxOptions), so
	// New refuses to run code. It is
	// plugins/sandbox's error.
	ErrNoSandbox = sandbox.ErrNoSandbox

	// ErrSessionDead: the session's interpreter died in an earlier call
	// (timeout, crash, kill) and its state is gone; open a new session. It
	// matches plugins.ErrUnknownSession too, so a host on the far side of
	// gRPC sees the same thing as for a closed session.
	ErrSessionDead = fmt.Errorf("session interpreter is dead: %w", plugins.ErrUnknownSession)

	// ErrClosed: the Interpreter was closed. It matches plugins.ErrUnavailable.
	ErrClosed = fmt.Errorf("python tool closed: %w", plugins.ErrUnavailable)

	// errProtocol: the interpreter sent a frame the Go side rejects (too
	// large, not JSON). Only code inside the sandbox can cause it; the
	// session is killed.
	errProtocol = errors.New("protocol violation")
)
