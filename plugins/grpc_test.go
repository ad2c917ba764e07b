package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hintfleet/hintfleet/plugins"
	toolpb "github.com/hintfleet/hintfleet/plugins/proto"
)

// fakeTool returns what the test sets and records the deadline it saw.
type fakeTool struct {
	result   plugins.ExecResult
	err      error
	deadline chan time.Duration
	requests chan plugins.ExecRequest // when set, gets every Exec request
}

func (f *fakeTool) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Name: "fake", Version: "1", Languages: []string{"py"}, Limits: plugins.Limits{Timeout: 3 * time.Second, MemoryBytes: 1 << 30}}, nil
}

func (f *fakeTool) Open(_ context.Context, req plugins.OpenRequest) (string, error) {
	return fmt.Sprintf("%s/%t/%v", req.Trajectory, req.Stateless, req.TTL), nil
}

func (f *fakeTool) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	if dl, ok := ctx.Deadline(); ok && f.deadline != nil {
		f.deadline <- time.Until(dl)
	}
	if f.requests != nil {
		f.requests <- req
	}
	return f.result, f.err
}

func (f *fakeTool) Close(context.Context, string) error { return f.err }

// serve runs impl as a real gRPC server on loopback and returns a client.
func serve(t *testing.T, impl plugins.Tool) *plugins.GRPCClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	toolpb.RegisterToolServer(srv, &plugins.GRPCServer{Impl: impl})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return plugins.NewGRPCClient(conn)
}

func TestGRPCRoundTrip(t *testing.T) {
	ctx := context.Background()
	kinds := []plugins.ErrorKind{plugins.KindNone, plugins.KindTimeout, plugins.KindMemory, plugins.KindOutputLimit, plugins.KindKilled, plugins.KindCrashed, plugins.KindInternal}
	for _, kind := range kinds {
		t.Run("kind="+string(kind), func(t *testing.T) {
			want := plugins.ExecResult{Stdout: "out", Stderr: "err", ExitCode: 3, StdoutTruncated: true, StderrTruncated: true, Duration: 1500 * time.Millisecond, ErrorKind: kind, Error: "why"}
			c := serve(t, &fakeTool{result: want})
			got, err := c.Exec(ctx, plugins.ExecRequest{Session: "s", Code: "1"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Exec = %+v; want %+v", got, want)
			}
		})
	}
	t.Run("describe and open", func(t *testing.T) {
		c := serve(t, &fakeTool{})
		d, err := c.Describe(ctx)
		if err != nil || d.Name != "fake" || d.Limits.Timeout != 3*time.Second || d.Limits.MemoryBytes != 1<<30 || !reflect.DeepEqual(d.Languages, []string{"py"}) {
			t.Errorf("Describe = %+v, %v", d, err)
		}
		id, err := c.Open(ctx, plugins.OpenRequest{Trajectory: "t", Stateless: true, TTL: time.Minute})
		if want := "t/true/1m0s"; err != nil || id != want {
			t.Errorf("Open = %q, %v; want %q", id, err, want)
		}
	})
	t.Run("request fields cross the wire", func(t *testing.T) {
		f := &fakeTool{requests: make(chan plugins.ExecRequest, 1)}
		c := serve(t, f)
		want := plugins.ExecRequest{Session: "s", Code: `{"message": "hi"}`, Timeout: 2 * time.Second, Lang: "mcp:everything.echo"}
		if _, err := c.Exec(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got := <-f.requests; got != want {
			t.Errorf("tool saw %+v; want %+v", got, want)
		}
	})
	t.Run("unknown kind becomes internal", func(t *testing.T) {
		c := serve(t, &fakeTool{result: plugins.ExecResult{ErrorKind: "exotic"}})
		got, err := c.Exec(ctx, plugins.ExecRequest{})
		if err != nil || got.ErrorKind != plugins.KindInternal {
			t.Errorf("Exec = %+v, %v; want KindInternal", got, err)
		}
	})
}

func TestGRPCErrorsSurviveTheWire(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error // nil: only a *RemoteError
	}{
		{"unknown session", fmt.Errorf("exec in session x: %w", plugins.ErrUnknownSession), plugins.ErrUnknownSession},
		{"invalid", plugins.ErrInvalidRequest, plugins.ErrInvalidRequest},
		{"unavailable", plugins.ErrUnavailable, plugins.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, context.DeadlineExceeded},
		{"other", errors.New("disk on fire"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := serve(t, &fakeTool{err: tc.err})
			_, err := c.Exec(context.Background(), plugins.ExecRequest{})
			var re *plugins.RemoteError
			if !errors.As(err, &re) || re.Op != "exec" {
				t.Fatalf("Exec err = %v; want a *RemoteError for exec", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Exec err = %v; want errors.Is %v", err, tc.want)
			}
			if err := c.Close(context.Background(), "s"); tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Close err = %v; want errors.Is %v", err, tc.want)
			}
		})
	}
}

func TestGRPCCarriesDeadline(t *testing.T) {
	f := &fakeTool{deadline: make(chan time.Duration, 1)}
	c := serve(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, plugins.ExecRequest{}); err != nil {
		t.Fatal(err)
	}
	if left := <-f.deadline; left <= 0 || left > 5*time.Second {
		t.Errorf("plugin saw %v left; want (0, 5s]", left)
	}
}
