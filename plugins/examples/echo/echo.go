// Package echo is the smallest useful hintfleet tool: Exec prints the code it
// was given. It exists to show what a Go tool needs (a Tool implementation and
// a main that calls plugins.Serve) and to give host tests a plugin that starts
// in milliseconds; see plugins/cmd/hintfleet-example-echo.
package echo

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// Version is reported by Describe.
const Version = "0.1.0"

// Tool echoes code back. Sessions only count calls, but they are real: Exec
// on a session that was never opened or is closed fails with
// plugins.ErrUnknownSession, as a stateful interpreter would.
type Tool struct {
	mu       sync.Mutex
	sessions map[string]int // session id → calls so far
}

// New returns an echo tool with no sessions.
func New() *Tool {
	return &Tool{sessions: make(map[string]int)}
}

var _ plugins.Tool = (*Tool)(nil)

// Describe implements plugins.Tool.
func (t *Tool) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Name:      "echo",
		Version:   Version,
		Languages: []string{"echo", "text"},
		Limits:    plugins.Limits{Timeout: 10 * time.Second},
	}, nil
}

// Open implements plugins.Tool.
func (t *Tool) Open(context.Context, plugins.OpenRequest) (string, error) {
	id := rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[id] = 0
	return id, nil
}

// Exec implements plugins.Tool: stdout is the code, unchanged.
func (t *Tool) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	start := time.Now()
	t.mu.Lock()
	_, ok := t.sessions[req.Session]
	if ok {
		t.sessions[req.Session]++
	}
	t.mu.Unlock()
	if !ok {
		return plugins.ExecResult{}, fmt.Errorf("exec in session %q: %w", req.Session, plugins.ErrUnknownSession)
	}
	if err := ctx.Err(); err != nil {
		return plugins.ExecResult{}, err
	}
	return plugins.ExecResult{Stdout: req.Code, Duration: time.Since(start)}, nil
}

// Close implements plugins.Tool.
func (t *Tool) Close(_ context.Context, session string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sessions[session]; !ok {
		return fmt.Errorf("close session %q: %w", session, plugins.ErrUnknownSession)
	}
	delete(t.sessions, session)
	return nil
}
