package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/worker"
)

// registrationLease is the lease the worker's registration is bound to, or
// 0 when it is not registered.
func registrationLease(t *testing.T, env *clustertest.Env, id string) clientv3.LeaseID {
	t.Helper()
	resp, err := env.Conn.Etcd.Get(context.Background(), cluster.WorkerKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return 0
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

// runWorker runs worker.Run in the background and returns its stop
// function, which cancels ctx and returns Run's error.
func runWorker(t *testing.T, env *clustertest.Env, cfg worker.Config) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	conn := env.Connect(t) // on the test goroutine: it may t.Fatal
	go func() { errc <- worker.Run(ctx, conn, cfg, worker.WithLogger(testLog())) }()
	stopped := false
	stop := func() error {
		cancel()
		if stopped {
			return nil
		}
		stopped = true
		select {
		case err := <-errc:
			return err
		case <-time.After(waitLimit):
			t.Fatal("worker.Run did not return after its ctx ended")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func runConfig(t *testing.T, id string) worker.Config {
	_, c := startSim(t, testProblems(1), nil)
	return worker.Config{ID: id, Model: testModel, Engines: []worker.Engine{worker.NewEngine(c, nil)},
		Concurrency: 2, LeaseTTL: 2 * time.Second, HealthEvery: 200 * time.Millisecond, DrainTimeout: 5 * time.Second}
}

// TestRunReRegistersAfterLeaseLoss: a worker whose lease is revoked under
// it registers again under a fresh lease, and a drain on ctx's end revokes
// that one and returns nil.
func TestRunReRegistersAfterLeaseLoss(t *testing.T) {
	env := clustertest.Start(t)
	stop := runWorker(t, env, runConfig(t, "w1"))
	var first clientv3.LeaseID
	eventually.True(t, waitLimit, "registered", func() bool { first = registrationLease(t, env, "w1"); return first != 0 })
	if _, err := env.Conn.Etcd.Revoke(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	var second clientv3.LeaseID
	eventually.True(t, waitLimit, "registered again under a new lease", func() bool {
		second = registrationLease(t, env, "w1")
		return second != 0 && second != first
	})
	if err := stop(); err != nil {
		t.Fatalf("Run after ctx end = %v, want nil (drained)", err)
	}
	if got := registrationLease(t, env, "w1"); got != 0 {
		t.Errorf("registration still bound to lease %x after the drain; want the lease revoked", got)
	}
}

// TestRunWaitsForStreams: a worker started before any coordinator created
// the streams waits for them instead of failing, and registers once they
// exist.
func TestRunWaitsForStreams(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	if err := env.Conn.JS.DeleteStream(ctx, cluster.StreamTasks); err != nil {
		t.Fatal(err)
	}
	runWorker(t, env, runConfig(t, "w1"))
	if err := cluster.EnsureStreams(ctx, env.Conn.JS, cluster.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, waitLimit, "registered once the streams exist", func() bool { return registrationLease(t, env, "w1") != 0 })
}

// TestRunStopsWhileWaitingForStreams: a ctx that ends while the worker
// waits for the streams ends Run with an error naming the wait and the
// cause.
func TestRunStopsWhileWaitingForStreams(t *testing.T) {
	env := clustertest.Start(t)
	if err := env.Conn.JS.DeleteStream(context.Background(), cluster.StreamTasks); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("test over")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	err := worker.Run(ctx, env.Conn, runConfig(t, "w1"), worker.WithLogger(testLog()))
	if !errors.Is(err, cause) {
		t.Fatalf("Run = %v, want an error wrapping the ctx's cause", err)
	}
}

// TestRunRejectsBadConfig: a config New refuses is Run's error at once,
// before any wait.
func TestRunRejectsBadConfig(t *testing.T) {
	env := clustertest.Start(t)
	cfg := runConfig(t, "")
	if err := worker.Run(context.Background(), env.Conn, cfg); !errors.Is(err, worker.ErrInvalidConfig) {
		t.Fatalf("Run with no id = %v, want ErrInvalidConfig", err)
	}
}

// failFirstRegistration is a gRPC interceptor on a real etcd client: the
// first registration (a put under the workers prefix) is refused as etcd
// refuses one whose lease expired before it arrived.
type failFirstRegistration struct{ failed atomic.Int32 }

func (f *failFirstRegistration) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if put, ok := req.(*pb.PutRequest); ok && strings.HasPrefix(string(put.Key), cluster.WorkersPrefix) && f.failed.CompareAndSwap(0, 1) {
		return rpctypes.ErrGRPCLeaseNotFound
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// TestRunSurvivesAFailedStart: a worker that cannot start under its new
// lease because etcd refuses the registration ("requested lease not
// found": the lease ran out while a frozen etcd leader was replaced) tries
// again under another lease instead of ending. The bug this pins: in the
// frozen-node cluster run both workers exited with that error and the job
// stopped with 22 tasks left.
func TestRunSurvivesAFailedStart(t *testing.T) {
	env := clustertest.Start(t)
	fault := &failFirstRegistration{}
	cli, err := clientv3.New(clientv3.Config{Endpoints: env.Endpoints().Etcd, DialTimeout: 10 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(fault.intercept)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	conn := env.Connect(t)
	conn = &cluster.Conn{NATS: conn.NATS, JS: conn.JS, Etcd: cli}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	var runErr error
	cfg := runConfig(t, "w1")
	go func() {
		defer close(ended)
		runErr = worker.Run(ctx, conn, cfg, worker.WithLogger(testLog()))
	}()
	t.Cleanup(func() { cancel(); <-ended })
	eventually.True(t, waitLimit, "registered after the refused registration", func() bool {
		select {
		case <-ended:
			t.Fatalf("Run returned %v after a refused registration", runErr)
		default:
		}
		return registrationLease(t, env, "w1") != 0
	})
	if fault.failed.Load() != 1 {
		t.Fatal("no registration was refused")
	}
}
