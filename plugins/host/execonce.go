package host

import (
	"context"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// ExecOnce runs code once through the plugin for the fence language lang,
// (lower-cased into the request, so one plugin may serve many languages)
// in a stateless session of its own (`hintfleet plugins exec`). timeout 0
// leaves the tool's limit. An unknown language is ErrNoTool (Lookup).
func (m *Manager) ExecOnce(ctx context.Context, lang, code string, timeout time.Duration) (plugins.ExecResult, error) {
	tool, err := m.Lookup(lang)
	if err != nil {
		return plugins.ExecResult{}, err
	}
	sess, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "cli", Stateless: true})
	if err != nil {
		return plugins.ExecResult{}, err
	}
	defer tool.Close(ctx, sess) //nolint:errcheck // best effort; the session was stateless
	return tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: code, Timeout: timeout, Lang: strings.ToLower(lang)})
}
