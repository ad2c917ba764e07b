package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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

// ExecOnce is `hintfleet plugins exec`: it starts s's plugins (Start,
// with log), runs code once through the plugin for lang (Manager.ExecOnce)
// and stops them. With stdin not nil the code is read from it instead, to
// its end, before any plugin starts, so a pipe that fails costs no plugin
// start.
func (s Source) ExecOnce(ctx context.Context, log *slog.Logger, lang, code string, stdin io.Reader, timeout time.Duration) (plugins.ExecResult, error) {
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return plugins.ExecResult{}, fmt.Errorf("read code from stdin: %w", err)
		}
		code = string(b)
	}
	m, err := s.Start(ctx, log)
	if err != nil {
		return plugins.ExecResult{}, err
	}
	defer m.Close()
	return m.ExecOnce(ctx, lang, code, timeout)
}

// List is `hintfleet plugins list`: it starts every plugin of s, going
// on past those that fail (KeepGoing), checks each (Manager.List) and
// stops them. ListErr says whether any failed.
func (s Source) List(ctx context.Context, log *slog.Logger) ([]PluginInfo, error) {
	m, err := s.Start(ctx, log, KeepGoing())
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.List(ctx), nil
}
