package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// routedTool is the Tool the Manager hands out for a language: it calls
// whichever process of its plugin is current, ties sessions to the process
// that opened them, and sets per-call timeouts.
//
// A session id it returns is "<generation>:<plugin's id>"; the generation
// counts the plugin's (re)starts, so a session from a process that has died
// is recognised instead of being sent to its successor, which never heard
// of it.
type routedTool struct {
	in *instance
	m  *Manager
}

var _ plugins.Tool = (*routedTool)(nil)

// Describe returns what the plugin said when it last started.
func (r *routedTool) Describe(context.Context) (plugins.Description, error) {
	r.in.mu.Lock()
	defer r.in.mu.Unlock()
	d := r.in.desc
	d.Languages = append([]string(nil), d.Languages...)
	return d, nil
}

// Open implements plugins.Tool.
func (r *routedTool) Open(ctx context.Context, req plugins.OpenRequest) (string, error) {
	p, err := r.proc()
	if err != nil {
		return "", err
	}
	id, err := p.tool.Open(ctx, req)
	if err != nil {
		return "", r.callErr("open", err)
	}
	return strconv.FormatUint(p.gen, 10) + ":" + id, nil
}

// Exec implements plugins.Tool. The plugin is told a timeout (the request's,
// else the tool's described limit, else the manager's default, and never
// more than ctx leaves); the RPC itself gets that plus a grace period, so a
// plugin reports its own timeouts as results with KindTimeout.
func (r *routedTool) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	p, inner, err := r.session("exec", req.Session)
	if err != nil {
		return plugins.ExecResult{}, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		r.in.mu.Lock()
		timeout = r.in.desc.Limits.Timeout
		r.in.mu.Unlock()
	}
	if timeout <= 0 {
		timeout = r.m.opts.callTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return plugins.ExecResult{}, fmt.Errorf("exec on plugin %s: %w", r.in.spec.Name, context.Cause(ctx))
		}
		if left-callGrace < timeout {
			timeout = max(left-callGrace, left/2)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout+callGrace)
	defer cancel()
	res, err := p.tool.Exec(cctx, plugins.ExecRequest{Session: inner, Code: req.Code, Timeout: timeout, Lang: req.Lang})
	if err != nil {
		return plugins.ExecResult{}, r.callErr("exec", err)
	}
	return res, nil
}

// Close implements plugins.Tool. Closing a stale session reports
// ErrStaleSession; its state is already gone, so callers may ignore it.
func (r *routedTool) Close(ctx context.Context, session string) error {
	p, inner, err := r.session("close", session)
	if err != nil {
		return err
	}
	if err := p.tool.Close(ctx, inner); err != nil {
		return r.callErr("close", err)
	}
	return nil
}

func (r *routedTool) proc() (*process, error) {
	if r.m.isClosed() {
		return nil, ErrClosed
	}
	return r.in.current()
}

// session resolves a session id to the process it belongs to.
func (r *routedTool) session(op, id string) (*process, string, error) {
	genText, inner, ok := strings.Cut(id, ":")
	gen, err := strconv.ParseUint(genText, 10, 64)
	if !ok || err != nil {
		return nil, "", fmt.Errorf("%s on plugin %s: session %q: %w", op, r.in.spec.Name, id, plugins.ErrUnknownSession)
	}
	p, err := r.proc()
	if err != nil {
		return nil, "", err
	}
	if gen != p.gen {
		return nil, "", fmt.Errorf("%s on plugin %s: session %q opened on process generation %d, now %d: %w", op, r.in.spec.Name, id, gen, p.gen, ErrStaleSession)
	}
	return p, inner, nil
}

// callErr wraps a plugin call's error and, when the plugin looks gone, asks
// the supervise loop to check it now rather than at the next tick.
func (r *routedTool) callErr(op string, err error) error {
	if errors.Is(err, plugins.ErrUnavailable) {
		r.in.poke()
	}
	return fmt.Errorf("%s on plugin %s: %w", op, r.in.spec.Name, err)
}
