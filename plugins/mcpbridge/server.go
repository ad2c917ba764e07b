package mcpbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// terminateWait is how long closing a server waits for it to exit after its
// stdin closes, before SIGTERM (and as long again before SIGKILL).
const terminateWait = 2 * time.Second

// server is one configured MCP server: its process and client session,
// restarted on the next call after it died.
type server struct {
	cfg    Server
	client *mcp.Client
	stderr io.Writer

	mu      sync.Mutex
	session *mcp.ClientSession // nil: not running
	closed  bool
	starts  int
}

func newServer(cfg Server, client *mcp.Client, stderr io.Writer) *server {
	return &server{cfg: cfg, client: client, stderr: stderr}
}

// connect returns the running session, starting the process when there is
// none.
func (s *server) connect(ctx context.Context) (*mcp.ClientSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("mcp server %s: bridge closed", s.cfg.Name)
	}
	if s.session != nil {
		return s.session, nil
	}
	cmd := exec.Command(s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Dir = s.cfg.Dir
	cmd.Env = append(os.Environ(), s.cfg.Env...)
	cmd.Stderr = s.stderr
	setDeathSignal(cmd)
	t := &mcp.CommandTransport{Command: cmd, TerminateDuration: terminateWait}
	sess, err := s.client.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("start mcp server %s (%s): %w", s.cfg.Name, s.cfg.Command[0], err)
	}
	s.session = sess
	s.starts++
	return sess, nil
}

// tools lists the server's tools, every page.
func (s *server) tools(ctx context.Context) ([]*mcp.Tool, error) {
	sess, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	var out []*mcp.Tool
	for t, err := range sess.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("list tools of mcp server %s: %w", s.cfg.Name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// errServerDied marks a call whose connection broke: the server exited or
// closed its end.
var errServerDied = errors.New("mcp server died")

// call calls one tool. A connection that broke under the call (EOF, a
// closed pipe: the server died) is dropped, so the next call starts the
// server again; the error then wraps errServerDied.
func (s *server) call(ctx context.Context, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	sess, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	res, err := sess.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil && ctx.Err() == nil && !isRPCError(err) {
		// Not the server's answer and not our deadline: the transport
		// failed, and a stdio transport fails only when the process went.
		s.drop(sess)
		return nil, fmt.Errorf("%w: %w", errServerDied, err)
	}
	return res, err
}

// drop forgets sess if it is still the current session and closes it,
// which ends its process.
func (s *server) drop(sess *mcp.ClientSession) {
	s.mu.Lock()
	if s.session == sess {
		s.session = nil
	}
	s.mu.Unlock()
	_ = sess.Close() // the process is gone or going; its exit status says nothing new
}

// close stops the server and refuses later calls.
func (s *server) close() error {
	s.mu.Lock()
	sess := s.session
	s.session, s.closed = nil, true
	s.mu.Unlock()
	if sess == nil {
		return nil
	}
	if err := sess.Close(); err != nil && !isExit(err) {
		return fmt.Errorf("stop mcp server %s: %w", s.cfg.Name, err)
	}
	return nil
}

// isExit reports an error that only says how the process ended: a server
// told to stop by SIGTERM may well die of it.
func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
