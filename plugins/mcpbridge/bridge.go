package mcpbridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Version is reported by Describe and to MCP servers as the client version.
const Version = "0.1.0"

// LangPrefix starts every fence language the bridge serves:
// mcp:<server>.<tool>.
const LangPrefix = "mcp:"

// Exit codes of a call, as the model reads them in the trajectory.
const (
	// ExitToolError: the MCP tool answered with isError, or the server
	// refused the call (unknown arguments, a JSON-RPC error).
	ExitToolError = 1
	// ExitBadArguments: the fence's body is not a JSON object.
	ExitBadArguments = 2
)

// Option tunes New.
type Option func(*options) error

type options struct {
	logger *slog.Logger
	stderr io.Writer
}

// WithLogger sets the logger; by default the bridge logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("mcp bridge: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithServerStderr sends the MCP servers' stderr to w (the plugin's own
// stderr, which the host relays into its log); by default it is dropped.
func WithServerStderr(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("mcp bridge: WithServerStderr: nil writer")
		}
		o.stderr = w
		return nil
	}
}

// route is where one fence language goes.
type route struct {
	srv  *server
	tool string // the tool's name as the server spells it
}

// Bridge is a plugins.Tool that serves the tools of MCP servers as fences
// ```mcp:<server>.<tool>, whose body is the JSON object of the tool's
// arguments. It is safe for concurrent use. Sessions are bookkeeping only:
// MCP tool calls carry no session state, so every session of a trajectory
// shares the servers' one connection.
type Bridge struct {
	cfg     Config
	log     *slog.Logger
	servers []*server
	routes  map[string]route // lowercased language -> tool
	langs   []string

	mu       sync.Mutex
	sessions map[string]struct{}
}

var _ plugins.Tool = (*Bridge)(nil)

// New starts every configured server, lists its tools and returns a bridge
// serving them. A server that does not start, or lacks a tool its config
// names, fails New (after stopping the others): a bridge that silently
// serves less than configured would make the model's fences fail later.
func New(ctx context.Context, cfg Config, opts ...Option) (*Bridge, error) {
	o := options{logger: slog.New(slog.DiscardHandler), stderr: io.Discard}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "hintfleet-mcp-bridge", Version: Version}, nil)
	b := &Bridge{cfg: cfg, log: o.logger, routes: map[string]route{}, sessions: map[string]struct{}{}}
	stderr := &lockedWriter{w: o.stderr}
	for _, sc := range cfg.Servers {
		srv := newServer(sc, client, &prefixWriter{w: stderr, prefix: "mcp server " + sc.Name + ": "})
		b.servers = append(b.servers, srv)
		if err := b.addTools(ctx, srv); err != nil {
			return nil, errors.Join(err, b.Shutdown())
		}
	}
	slices.Sort(b.langs)
	return b, nil
}

// addTools lists srv's tools and routes a language to each one served.
func (b *Bridge) addTools(ctx context.Context, srv *server) error {
	tools, err := srv.tools(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{} // configured tools not seen yet
	for _, t := range srv.cfg.Tools {
		want[t] = true
	}
	for _, t := range tools {
		if len(srv.cfg.Tools) > 0 && !want[t.Name] {
			continue
		}
		delete(want, t.Name)
		lang := strings.ToLower(LangPrefix + srv.cfg.Name + "." + t.Name)
		if _, dup := b.routes[lang]; dup {
			// Fence languages are read lowercased, so two tools that differ
			// only in case cannot both be reached.
			b.log.Warn("mcp tool unreachable: its name differs only in case from another", "server", srv.cfg.Name, "tool", t.Name)
			continue
		}
		b.routes[lang] = route{srv: srv, tool: t.Name}
		b.langs = append(b.langs, lang)
		b.log.Debug("mcp tool served", "lang", lang, "description", t.Description)
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for t := range want {
			missing = append(missing, t)
		}
		slices.Sort(missing)
		return fmt.Errorf("mcp server %s: config names tools it does not list: %s", srv.cfg.Name, strings.Join(missing, ", "))
	}
	return nil
}

// Describe implements plugins.Tool: one language per tool served.
func (b *Bridge) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Name:      "mcp",
		Version:   Version,
		Languages: slices.Clone(b.langs),
		Limits:    plugins.Limits{Timeout: b.cfg.callTimeout(), OutputBytes: int64(b.cfg.outputBytes())},
	}, nil
}

// Open implements plugins.Tool.
func (b *Bridge) Open(context.Context, plugins.OpenRequest) (string, error) {
	id := rand.Text()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sessions[id] = struct{}{}
	return id, nil
}

// Close implements plugins.Tool for a session.
func (b *Bridge) Close(_ context.Context, session string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.sessions[session]; !ok {
		return fmt.Errorf("close session %q: %w", session, plugins.ErrUnknownSession)
	}
	delete(b.sessions, session)
	return nil
}

// Exec implements plugins.Tool: it calls the tool req.Lang names with the
// JSON object in req.Code as arguments. What the model got wrong (not a JSON
// object, arguments the tool refuses, a tool error) is a result with a
// non-zero exit code; a call past its timeout is KindTimeout; a server that
// died under the call is KindCrashed (and starts again on the next call).
func (b *Bridge) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	start := time.Now()
	b.mu.Lock()
	_, ok := b.sessions[req.Session]
	b.mu.Unlock()
	if !ok {
		return plugins.ExecResult{}, fmt.Errorf("exec in session %q: %w", req.Session, plugins.ErrUnknownSession)
	}
	r, ok := b.routes[strings.ToLower(req.Lang)]
	if !ok {
		if req.Lang == "" {
			return plugins.ExecResult{}, fmt.Errorf("%w: no fence language in the request (a host older than ExecRequest.Lang cannot drive the mcp bridge)", plugins.ErrInvalidRequest)
		}
		return plugins.ExecResult{}, fmt.Errorf("%w: no mcp tool serves %q (have %s)", plugins.ErrInvalidRequest, req.Lang, strings.Join(b.langs, ", "))
	}
	args, err := parseArguments(req.Code)
	if err != nil {
		return b.result(plugins.ExecResult{Stderr: err.Error(), ExitCode: ExitBadArguments}, start), nil
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = b.cfg.callTimeout()
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := r.srv.call(cctx, r.tool, args)
	switch {
	case err == nil:
		text := renderContent(res)
		if res.IsError {
			return b.result(plugins.ExecResult{Stderr: text, ExitCode: ExitToolError}, start), nil
		}
		return b.result(plugins.ExecResult{Stdout: text}, start), nil
	case ctx.Err() != nil:
		return plugins.ExecResult{}, fmt.Errorf("call mcp tool %s: %w", req.Lang, context.Cause(ctx))
	case cctx.Err() != nil:
		return b.result(plugins.ExecResult{ExitCode: -1, ErrorKind: plugins.KindTimeout,
			Error: fmt.Sprintf("mcp tool %s timed out after %s", req.Lang, timeout)}, start), nil
	case errors.Is(err, errServerDied):
		b.log.Warn("mcp server died during a call", "lang", req.Lang, "err", err)
		return b.result(plugins.ExecResult{ExitCode: -1, ErrorKind: plugins.KindCrashed,
			Error: fmt.Sprintf("mcp server %s died during the call", r.srv.cfg.Name)}, start), nil
	case isRPCError(err):
		return b.result(plugins.ExecResult{Stderr: "mcp error: " + err.Error(), ExitCode: ExitToolError}, start), nil
	default:
		return plugins.ExecResult{}, fmt.Errorf("call mcp tool %s: %w", req.Lang, err)
	}
}

// result caps the output and sets the duration.
func (b *Bridge) result(res plugins.ExecResult, start time.Time) plugins.ExecResult {
	limit := b.cfg.outputBytes()
	res.Stdout, res.StdoutTruncated = truncate(res.Stdout, limit)
	res.Stderr, res.StderrTruncated = truncate(res.Stderr, limit)
	res.Duration = time.Since(start)
	return res
}

// Shutdown stops every MCP server (stdin closed, then SIGTERM, then SIGKILL)
// and waits for them; the bridge refuses calls afterwards. It is not
// plugins.Tool's Close, which ends one session.
func (b *Bridge) Shutdown() error {
	var errs []error
	for _, s := range b.servers {
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseArguments reads a fence body as the tool's arguments: a JSON object,
// or nothing for a tool without arguments. The error is for the model.
func parseArguments(code string) (map[string]any, error) {
	body := bytes.TrimSpace([]byte(code))
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var args map[string]any
	if err := dec.Decode(&args); err != nil {
		_, _, what := trajectory.DescribeJSONError(err)
		return nil, fmt.Errorf("arguments: want one JSON object such as {\"message\": \"hi\"}: %w", what)
	}
	if args == nil {
		return nil, errors.New("arguments: want a JSON object, got null")
	}
	if dec.More() {
		return nil, errors.New("arguments: want one JSON object, got more after it")
	}
	return args, nil
}
