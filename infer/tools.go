package infer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/plugins"
)

// Router finds the tool plugin for a fence language; *host.Manager is one.
type Router interface {
	Tool(lang string) (plugins.Tool, bool)
	Languages() []string
}

// lookuper is a Router that can say why a language has no tool (a plugin
// refused for its checksum, one down); *host.Manager is one.
type lookuper interface {
	Lookup(lang string) (plugins.Tool, error)
}

// Tools adapts a plugin router to hint.Tool: one plugin session per language
// per trajectory, opened on first use, so that variables and files persist
// across the tool calls of one trajectory and nowhere else.
type Tools struct {
	Router Router
	// Timeout bounds one call; 0 leaves the plugin's default.
	Timeout time.Duration
	// Stateless runs every call in a fresh interpreter.
	Stateless bool
}

// Open implements hint.Tool.
func (t *Tools) Open(_ context.Context, trajectoryID string) (hint.ToolSession, error) {
	return &toolSession{t: t, id: trajectoryID, sessions: map[plugins.Tool]string{}}, nil
}

type toolSession struct {
	t        *Tools
	id       string
	sessions map[plugins.Tool]string
}

func (s *toolSession) Languages() []string { return s.t.Router.Languages() }

func (s *toolSession) Exec(ctx context.Context, lang, code string) (hint.ToolResult, error) {
	tool, ok := s.t.Router.Tool(lang)
	if !ok {
		if l, ok := s.t.Router.(lookuper); ok {
			if _, err := l.Lookup(lang); err != nil {
				return hint.ToolResult{}, fmt.Errorf("exec %s code for %s: %w", lang, s.id, err)
			}
		}
		return hint.ToolResult{}, fmt.Errorf("exec %s code for %s: no plugin handles the language", lang, s.id)
	}
	sid, ok := s.sessions[tool]
	if !ok {
		var err error
		sid, err = tool.Open(ctx, plugins.OpenRequest{Trajectory: s.id, Stateless: s.t.Stateless})
		if err != nil {
			return hint.ToolResult{}, fmt.Errorf("open %s session for %s: %w", lang, s.id, err)
		}
		s.sessions[tool] = sid
	}
	res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sid, Code: code, Timeout: s.t.Timeout, Lang: lang})
	if err != nil {
		return hint.ToolResult{}, fmt.Errorf("exec %s code for %s: %w", lang, s.id, err)
	}
	return toolResult(res), nil
}

// toolResult renders a plugin result as the model reads it in the
// ```output block: stdout, then stderr (a traceback), then what stopped it.
func toolResult(res plugins.ExecResult) hint.ToolResult {
	var b strings.Builder
	b.WriteString(res.Stdout)
	if res.Stderr != "" {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
		b.WriteString(res.Stderr)
	}
	if res.ErrorKind != plugins.KindNone {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
		msg := res.Error
		if msg == "" {
			msg = string(res.ErrorKind)
		}
		b.WriteString(msg)
	}
	return hint.ToolResult{
		Output:    b.String(),
		ExitCode:  res.ExitCode,
		ErrorKind: string(res.ErrorKind),
		Truncated: res.StdoutTruncated || res.StderrTruncated,
		Duration:  res.Duration,
	}
}

func (s *toolSession) Close(ctx context.Context) error {
	var errs []error
	for tool, sid := range s.sessions {
		if err := tool.Close(ctx, sid); err != nil {
			errs = append(errs, fmt.Errorf("close tool session %s of %s: %w", sid, s.id, err))
		}
	}
	s.sessions = nil
	return errors.Join(errs...)
}
