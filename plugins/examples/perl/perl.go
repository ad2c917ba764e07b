// Package perl is the walk-through tool of plugins/README.md: a sandboxed
// tool in Go in one file. Each ```perl block runs as `perl -e <block>` in a
// fresh plugins/sandbox sandbox (as nobody, no network, read-only system,
// capped /tmp, rlimits, seccomp, a wall-clock limit), and its output is the
// ```output block. Sessions carry nothing between blocks; they only exist so
// that a closed or unknown session is refused like any stateful tool's.
package perl

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// Perl is the interpreter; /usr/bin/perl is perl-base, in every Debian.
const Perl = "/usr/bin/perl"

// Tool runs perl blocks. Safe for concurrent use.
type Tool struct {
	sb     *sandbox.Sandbox
	limits plugins.Limits

	mu       sync.Mutex
	sessions map[string]bool
}

// New checks that sandboxes start here (errors.Is(err, sandbox.ErrNoSandbox)
// when not) and returns the tool.
func New(ctx context.Context, opts ...sandbox.Option) (*Tool, error) {
	limits := plugins.Limits{Timeout: 10 * time.Second, OutputBytes: 64 << 10}
	sb, err := sandbox.New(ctx, append([]sandbox.Option{sandbox.WithLimits(sandbox.Limits{Timeout: limits.Timeout})}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("perl tool: %w", err)
	}
	return &Tool{sb: sb, limits: limits, sessions: map[string]bool{}}, nil
}

// Describe implements plugins.Tool.
func (t *Tool) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Name: "perl", Version: "0.1.0", Languages: []string{"perl", "pl"}, Limits: t.limits}, nil
}

// Open implements plugins.Tool.
func (t *Tool) Open(context.Context, plugins.OpenRequest) (string, error) {
	id := rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[id] = true
	return id, nil
}

// Exec implements plugins.Tool: the block's failures (a non-zero exit, the
// time limit) are results; only a sandbox that cannot start is an error.
func (t *Tool) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	t.mu.Lock()
	ok := t.sessions[req.Session]
	t.mu.Unlock()
	if !ok {
		return plugins.ExecResult{}, fmt.Errorf("exec in session %q: %w", req.Session, plugins.ErrUnknownSession)
	}
	start := time.Now()
	stdout, stderr := &capped{n: int(t.limits.OutputBytes)}, &capped{n: int(t.limits.OutputBytes)}
	cmd := t.sb.Command(ctx, Perl, "-e", req.Code)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if req.Timeout > 0 {
		cmd.Timeout = req.Timeout
	}
	res := plugins.ExecResult{}
	var exit *sandbox.ExitError
	switch err := cmd.Run(); {
	case err == nil:
	case errors.Is(err, sandbox.ErrTimeout):
		res.ExitCode, res.ErrorKind, res.Error = -1, plugins.KindTimeout, "perl ran past its time limit"
	case errors.As(err, &exit) && exit.Cause == nil:
		res.ExitCode = exit.Code
	default:
		return plugins.ExecResult{}, fmt.Errorf("run perl: %w", err)
	}
	res.Stdout, res.StdoutTruncated = string(stdout.b), stdout.cut
	res.Stderr, res.StderrTruncated = string(stderr.b), stderr.cut
	res.Duration = time.Since(start)
	return res, nil
}

// Close implements plugins.Tool.
func (t *Tool) Close(_ context.Context, session string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.sessions[session] {
		return fmt.Errorf("close session %q: %w", session, plugins.ErrUnknownSession)
	}
	delete(t.sessions, session)
	return nil
}

// capped keeps the first n bytes written to it and says whether there were
// more. The sandbox writes each stream from one goroutine.
type capped struct {
	b   []byte
	n   int
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.n - len(c.b)
	if len(p) > room {
		c.b, c.cut = append(c.b, p[:max(room, 0)]...), true
		return len(p), nil
	}
	c.b = append(c.b, p...)
	return len(p), nil
}
