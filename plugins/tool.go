package plugins

import (
	"context"
	"time"
)

// ErrorKind classifies why a tool call did not end normally. The empty kind
// means the code ran to completion (its own exit status may still be non-zero).
type ErrorKind string

// Error kinds a tool reports in ExecResult.ErrorKind.
const (
	KindNone        ErrorKind = ""
	KindTimeout     ErrorKind = "timeout"      // wall-clock or CPU limit hit
	KindMemory      ErrorKind = "memory"       // memory limit hit
	KindOutputLimit ErrorKind = "output_limit" // output or file-size limit hit
	KindKilled      ErrorKind = "killed"       // killed by a signal it did not ask for
	KindCrashed     ErrorKind = "crashed"      // the interpreter itself died
	KindInternal    ErrorKind = "internal"     // the tool failed, not the code
)

// Limits are the resource limits a tool applies to one call or session. In
// JSON, durations are nanoseconds under keys ending in _ns.
type Limits struct {
	Timeout     time.Duration `json:"timeout_ns"`
	MemoryBytes int64         `json:"memory_bytes"`
	OutputBytes int64         `json:"output_bytes"`
	Processes   int64         `json:"processes"`
	FileBytes   int64         `json:"file_bytes"`
	OpenFiles   int64         `json:"open_files"`
	TmpfsBytes  int64         `json:"tmpfs_bytes"`
}

// Description is what a tool says about itself.
type Description struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Languages are the code-fence languages the tool handles ("python", "py").
	Languages []string `json:"languages"`
	Limits    Limits   `json:"limits"`
}

// OpenRequest asks for a session bound to one trajectory.
type OpenRequest struct {
	// Trajectory names the trajectory (task id) the session serves; for logs.
	Trajectory string
	// Stateless asks for a fresh interpreter on every Exec.
	Stateless bool
	// TTL closes the session if it is left open longer; zero means the tool's default.
	TTL time.Duration
}

// ExecRequest runs one block of code in a session.
type ExecRequest struct {
	Session string
	Code    string
	// Timeout bounds this call's wall time; zero means the tool's default.
	Timeout time.Duration
	// Lang is the fence language the code came in ("python",
	// "mcp:everything.echo"), lowercased. A tool that serves one language
	// can ignore it; one that serves several (the MCP bridge) dispatches on
	// it. Empty when the caller does not know (an older host).
	Lang string
}

// ExecResult is what one call produced.
type ExecResult struct {
	Stdout          string        `json:"stdout"`
	Stderr          string        `json:"stderr"`
	ExitCode        int           `json:"exit_code"`
	StdoutTruncated bool          `json:"stdout_truncated,omitempty"`
	StderrTruncated bool          `json:"stderr_truncated,omitempty"`
	Duration        time.Duration `json:"duration_ns"`
	ErrorKind       ErrorKind     `json:"error_kind,omitempty"`
	// Error explains ErrorKind in words, for the model and for logs.
	Error string `json:"error,omitempty"`
}

// Tool is the interface every tool plugin implements and the host calls,
// in-process or across go-plugin's gRPC. All methods are safe for concurrent
// use; a session is used by one trajectory at a time.
type Tool interface {
	Describe(ctx context.Context) (Description, error)
	Open(ctx context.Context, req OpenRequest) (session string, err error)
	Exec(ctx context.Context, req ExecRequest) (ExecResult, error)
	Close(ctx context.Context, session string) error
}
