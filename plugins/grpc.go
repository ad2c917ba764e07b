package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	toolpb "github.com/hintfleet/hintfleet/plugins/proto"
)

// GRPCClient is the host's view of a plugin: a Tool whose methods are gRPC
// calls. The ctx of each call travels as the gRPC deadline and cancellation,
// so a caller that gives up stops the plugin's work too.
type GRPCClient struct {
	client toolpb.ToolClient
}

// NewGRPCClient returns a Tool calling the Tool service on conn. The caller
// owns conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{client: toolpb.NewToolClient(conn)}
}

var _ Tool = (*GRPCClient)(nil)

// Describe implements Tool.
func (c *GRPCClient) Describe(ctx context.Context) (Description, error) {
	resp, err := c.client.Describe(ctx, &toolpb.DescribeRequest{})
	if err != nil {
		return Description{}, fromStatus("describe", err)
	}
	return Description{
		Name:      resp.GetName(),
		Version:   resp.GetVersion(),
		Languages: resp.GetLanguages(),
		Limits:    limitsFromProto(resp.GetLimits()),
	}, nil
}

// Open implements Tool.
func (c *GRPCClient) Open(ctx context.Context, req OpenRequest) (string, error) {
	resp, err := c.client.Open(ctx, &toolpb.OpenRequest{
		Trajectory: req.Trajectory,
		Stateless:  req.Stateless,
		Ttl:        durationToProto(req.TTL),
	})
	if err != nil {
		return "", fromStatus("open", err)
	}
	return resp.GetSession(), nil
}

// Exec implements Tool.
func (c *GRPCClient) Exec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	resp, err := c.client.Exec(ctx, &toolpb.ExecRequest{
		Session: req.Session,
		Code:    req.Code,
		Timeout: durationToProto(req.Timeout),
		Lang:    req.Lang,
	})
	if err != nil {
		return ExecResult{}, fromStatus("exec", err)
	}
	kind, ok := kindFromProto[resp.GetErrorKind()]
	errText := resp.GetError()
	if !ok {
		// A newer plugin reported a kind this host does not know; keep the
		// result but classify it so callers never see an empty kind for it.
		kind = KindInternal
		errText = fmt.Sprintf("unknown error kind %d: %s", resp.GetErrorKind(), errText)
	}
	return ExecResult{
		Stdout:          resp.GetStdout(),
		Stderr:          resp.GetStderr(),
		ExitCode:        int(resp.GetExitCode()),
		StdoutTruncated: resp.GetStdoutTruncated(),
		StderrTruncated: resp.GetStderrTruncated(),
		Duration:        durationFromProto(resp.GetDuration()),
		ErrorKind:       kind,
		Error:           errText,
	}, nil
}

// Close implements Tool.
func (c *GRPCClient) Close(ctx context.Context, session string) error {
	if _, err := c.client.Close(ctx, &toolpb.CloseRequest{Session: session}); err != nil {
		return fromStatus("close", err)
	}
	return nil
}

// GRPCServer serves a Tool implementation as the gRPC Tool service. It is
// what Serve registers; tests use it to serve a Tool on a plain listener.
type GRPCServer struct {
	toolpb.UnimplementedToolServer
	Impl Tool
}

// Describe implements toolpb.ToolServer.
func (s *GRPCServer) Describe(ctx context.Context, _ *toolpb.DescribeRequest) (*toolpb.DescribeResponse, error) {
	d, err := s.Impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &toolpb.DescribeResponse{
		Name:      d.Name,
		Version:   d.Version,
		Languages: d.Languages,
		Limits:    limitsToProto(d.Limits),
	}, nil
}

// Open implements toolpb.ToolServer.
func (s *GRPCServer) Open(ctx context.Context, req *toolpb.OpenRequest) (*toolpb.OpenResponse, error) {
	id, err := s.Impl.Open(ctx, OpenRequest{
		Trajectory: req.GetTrajectory(),
		Stateless:  req.GetStateless(),
		TTL:        durationFromProto(req.GetTtl()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &toolpb.OpenResponse{Session: id}, nil
}

// Exec implements toolpb.ToolServer.
func (s *GRPCServer) Exec(ctx context.Context, req *toolpb.ExecRequest) (*toolpb.ExecResponse, error) {
	r, err := s.Impl.Exec(ctx, ExecRequest{
		Session: req.GetSession(),
		Code:    req.GetCode(),
		Timeout: durationFromProto(req.GetTimeout()),
		Lang:    req.GetLang(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	kind, ok := kindToProto[r.ErrorKind]
	errText := r.Error
	if !ok {
		kind = toolpb.ErrorKind_ERROR_KIND_INTERNAL
		errText = fmt.Sprintf("unknown error kind %q: %s", r.ErrorKind, errText)
	}
	return &toolpb.ExecResponse{
		Stdout:          r.Stdout,
		Stderr:          r.Stderr,
		ExitCode:        int32(r.ExitCode),
		StdoutTruncated: r.StdoutTruncated,
		StderrTruncated: r.StderrTruncated,
		Duration:        durationpb.New(r.Duration),
		ErrorKind:       kind,
		Error:           errText,
	}, nil
}

// Close implements toolpb.ToolServer.
func (s *GRPCServer) Close(ctx context.Context, req *toolpb.CloseRequest) (*toolpb.CloseResponse, error) {
	if err := s.Impl.Close(ctx, req.GetSession()); err != nil {
		return nil, toStatus(err)
	}
	return &toolpb.CloseResponse{}, nil
}

var kindToProto = map[ErrorKind]toolpb.ErrorKind{
	KindNone:        toolpb.ErrorKind_ERROR_KIND_UNSPECIFIED,
	KindTimeout:     toolpb.ErrorKind_ERROR_KIND_TIMEOUT,
	KindMemory:      toolpb.ErrorKind_ERROR_KIND_MEMORY,
	KindOutputLimit: toolpb.ErrorKind_ERROR_KIND_OUTPUT_LIMIT,
	KindKilled:      toolpb.ErrorKind_ERROR_KIND_KILLED,
	KindCrashed:     toolpb.ErrorKind_ERROR_KIND_CRASHED,
	KindInternal:    toolpb.ErrorKind_ERROR_KIND_INTERNAL,
}

var kindFromProto = func() map[toolpb.ErrorKind]ErrorKind {
	m := make(map[toolpb.ErrorKind]ErrorKind, len(kindToProto))
	for k, v := range kindToProto {
		m[v] = k
	}
	return m
}()

// sentinelCodes maps the errors in errors.go, and the context errors, to the
// status codes that carry them.
var sentinelCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrUnknownSession, codes.NotFound},
	{ErrInvalidRequest, codes.InvalidArgument},
	{ErrUnavailable, codes.Unavailable},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus turns a Tool error into a gRPC status so its sentinel survives
// the wire; anything else is Internal.
func toStatus(err error) error {
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return status.Error(s.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// RemoteError is an error a plugin call returned, as the host sees it. It
// unwraps to the sentinel its status code carries (ErrUnknownSession,
// ErrUnavailable, context.DeadlineExceeded, …) when there is one.
type RemoteError struct {
	Op   string // "describe", "open", "exec", "close"
	Code codes.Code
	Msg  string
	is   error
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("tool %s: %s: %s", e.Op, e.Code, e.Msg)
}

// Unwrap returns the sentinel for Code, or nil.
func (e *RemoteError) Unwrap() error { return e.is }

func fromStatus(op string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("tool %s: %w", op, err)
	}
	re := &RemoteError{Op: op, Code: st.Code(), Msg: st.Message()}
	for _, s := range sentinelCodes {
		if s.code == st.Code() {
			re.is = s.err
			break
		}
	}
	return re
}

func durationToProto(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func durationFromProto(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func limitsToProto(l Limits) *toolpb.Limits {
	return &toolpb.Limits{
		Timeout:     durationToProto(l.Timeout),
		MemoryBytes: l.MemoryBytes,
		OutputBytes: l.OutputBytes,
		Processes:   l.Processes,
		FileBytes:   l.FileBytes,
		OpenFiles:   l.OpenFiles,
		TmpfsBytes:  l.TmpfsBytes,
	}
}

func limitsFromProto(l *toolpb.Limits) Limits {
	return Limits{
		Timeout:     durationFromProto(l.GetTimeout()),
		MemoryBytes: l.GetMemoryBytes(),
		OutputBytes: l.GetOutputBytes(),
		Processes:   l.GetProcesses(),
		FileBytes:   l.GetFileBytes(),
		OpenFiles:   l.GetOpenFiles(),
		TmpfsBytes:  l.GetTmpfsBytes(),
	}
}
