package worker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// failFirstDone is a gRPC interceptor on a real etcd client: the first
// transaction that writes a done marker fails with a deadline, without
// reaching etcd, as when the member under the request is killed. Every other
// call, and every later done transaction, goes to the server.
type failFirstDone struct{ failed atomic.Int32 }

func (f *failFirstDone) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if txn, ok := req.(*pb.TxnRequest); ok && writesDone(txn) && f.failed.CompareAndSwap(0, 1) {
		return context.DeadlineExceeded
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func writesDone(txn *pb.TxnRequest) bool {
	for _, op := range txn.Success {
		if put := op.GetRequestPut(); put != nil && strings.HasPrefix(string(put.Key), cluster.DonePrefix) {
			return true
		}
	}
	return false
}

// TestSucceedRetriesFailedRelease: a release with done that fails after the
// result was published is retried before the delivery is acked. The bug this
// pins: in the stream-leader-kill chaos run a worker logged "release task …:
// context deadline exceeded", acked the message anyway and kept its claim
// under a live lease, so neither the requeuer (which acts on claims that
// end) nor the reconciler (which skips claimed tasks) ever touched the task.
func TestSucceedRetriesFailedRelease(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	const pool = "releasetest"
	task, got := oneDelivery(t, env, pool)
	fault := &failFirstDone{}
	lease := leaseVia(t, env, fault.intercept)
	w := offlineWorker(t, env, pool, lease) // the engine is never called: the trajectory is given
	rev, err := lease.Claim(ctx, task.TaskID, cluster.ClaimValue{Worker: "w", Attempt: 1, Job: "j", Pool: pool, AckSubject: got.Reply()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &ackRecorder{Msg: got}
	w.succeed(ctx, w.log, rec, task, rev, w.slots[0], trajectory.Trajectory{}, checkpoints(t, env))

	if fault.failed.Load() != 1 {
		t.Fatal("the release's done transaction was never sent")
	}
	resp, err := env.Conn.Etcd.Txn(ctx).Then(
		clientv3.OpGet(cluster.ClaimKey(task.TaskID)), clientv3.OpGet(cluster.DoneKey(task.TaskID)),
	).Commit()
	if err != nil {
		t.Fatal(err)
	}
	claims, done := resp.Responses[0].GetResponseRange().Count, resp.Responses[1].GetResponseRange().Count
	if claims != 0 || done != 1 {
		t.Fatalf("after succeed: %d claims and %d done markers, want the claim released with done", claims, done)
	}
	if rec.acked.Load() != 1 || rec.nakked.Load() != 0 {
		t.Fatalf("ack %d nak %d, want the delivery acked once", rec.acked.Load(), rec.nakked.Load())
	}
}

// signalWriter closes seen the first time a write contains substr.
type signalWriter struct {
	substr string
	once   sync.Once
	seen   chan struct{}
}

func (s *signalWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.substr) {
		s.once.Do(func() { close(s.seen) })
	}
	return len(p), nil
}

// TestPublishRetriesWhileStreamAway: a result published while RESULTS has
// no leader (here: no stream at all) is tried again until the stream
// answers, instead of the task being handed back to run again. In the
// stream-leader-kill chaos run every result finished during the election
// ("nats: no response from stream") was handed back and generated again.
func TestPublishRetriesWhileStreamAway(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	if err := env.Conn.JS.DeleteStream(ctx, cluster.StreamResults); err != nil {
		t.Fatal(err)
	}
	sig := &signalWriter{substr: "trying again", seen: make(chan struct{})}
	w := offlineWorker(t, env, "p", leaseVia(t, env, nil), WithLogger(slog.New(slog.NewTextHandler(sig, nil))))
	task := protocol.Task{JobID: "j", TaskID: trajectory.TaskID("j", "p", 0), Pool: "p", Attempt: 1}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- w.publish(pctx, task, 1, protocol.Result{Failure: "test"}) }()
	select {
	case <-sig.seen:
	case err := <-errc:
		t.Fatalf("publish returned %v before the stream existed", err)
	}
	if err := cluster.EnsureStreams(ctx, env.Conn.JS, cluster.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("publish once the stream is back: %v", err)
	}
	s, err := env.Conn.JS.Stream(ctx, cluster.StreamResults)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("RESULTS holds %d messages, want the one result", info.State.Msgs)
	}
}
