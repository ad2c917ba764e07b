package worker

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/engine"
)

// ackRecorder is a real delivery that remembers how it was settled, so a
// test can see what handle did with it. Every call reaches the server.
type ackRecorder struct {
	jetstream.Msg
	acked, nakked atomic.Int32
}

func (m *ackRecorder) Ack() error { m.acked.Add(1); return m.Msg.Ack() }
func (m *ackRecorder) Nak() error { m.nakked.Add(1); return m.Msg.Nak() }
func (m *ackRecorder) NakWithDelay(d time.Duration) error {
	m.nakked.Add(1)
	return m.Msg.NakWithDelay(d)
}

// TestClaimFailureNaks: a claim that fails for any reason other than
// claimed, done or stale naks the delivery, so the message goes to the next
// fetch at once rather than after AckWait (30 minutes). The bug this pins:
// workers that lost their lease during an etcd restart logged "claim task
// …: read attempts: context canceled" and did not nak, because the lease
// was gone.
func TestClaimFailureNaks(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	const pool = "claimtest"
	cons := poolConsumer(t, env, pool)
	eng, err := engine.New("http://127.0.0.1:1") // never called: nothing gets past the claim
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// setup returns the lease the worker claims with and the context
		// of the claim.
		setup func(t *testing.T) (*cluster.Lease, context.Context)
	}{
		{"lease lost mid-claim", func(t *testing.T) (*cluster.Lease, context.Context) {
			l, err := cluster.NewLease(ctx, env.Conn.Etcd, cluster.WithLeaseTTL(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Close(ctx); err != nil { // revoked: the claim's put names a lease etcd no longer has
				t.Fatal(err)
			}
			return l, ctx
		}},
		{"claim never reached etcd", func(t *testing.T) (*cluster.Lease, context.Context) {
			l, err := cluster.NewLease(ctx, env.Conn.Etcd, cluster.WithLeaseTTL(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close(ctx) })
			cctx, cancel := context.WithCancel(ctx)
			cancel() // as the worker's work context ends when its lease is lost
			return l, cctx
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := deliver(t, env, cons, pool, tc.name)
			w, err := New(env.Connect(t), Config{ID: "w", Model: "m", Engines: []Engine{NewEngine(eng, nil)}, Pool: pool})
			if err != nil {
				t.Fatal(err)
			}
			lease, hctx := tc.setup(t)
			w.lease = lease
			rec := &ackRecorder{Msg: got}
			w.handle(hctx, rec, w.slots[0], nil, newJobWatch(env.Conn.Etcd, w.log, nil), time.Minute, nil)
			if rec.nakked.Load() != 1 || rec.acked.Load() != 0 {
				t.Fatalf("nak %d ack %d, want the delivery nak'd once", rec.nakked.Load(), rec.acked.Load())
			}
			again := fetchOne(t, cons) // within fetchOne's wait, not AckWait
			md, err := again.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			if md.NumDelivered != 2 {
				t.Fatalf("redelivered %d times, want 2", md.NumDelivered)
			}
			_ = again.Ack()
		})
	}
}

func fetchOne(t *testing.T, cons jetstream.Consumer) jetstream.Msg {
	t.Helper()
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		return m
	}
	t.Fatal("no message within 5s")
	return nil
}

// loseFirstClaimAnswer is a gRPC interceptor on a real etcd client: the
// first transaction that puts a claim reaches etcd and commits, and then its
// answer is lost, as when the member under the request is killed after the
// commit.
type loseFirstClaimAnswer struct{ lost atomic.Int32 }

func (f *loseFirstClaimAnswer) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if txn, ok := req.(*pb.TxnRequest); ok && err == nil && putsClaim(txn) && f.lost.CompareAndSwap(0, 1) {
		return status.Error(codes.Unavailable, "error reading from server: EOF")
	}
	return err
}

func putsClaim(txn *pb.TxnRequest) bool {
	for _, op := range txn.Success {
		if put := op.GetRequestPut(); put != nil && strings.HasPrefix(string(put.Key), cluster.ClaimsPrefix) {
			return true
		}
	}
	return false
}

// TestClaimAnswerLost: a claim that committed in etcd but whose answer was
// lost is found on the next try and the task runs here; the delivery is
// not nak'd. The bug this pins: in the stream-leader-kill chaos run a worker
// logged "claim task …: rpc error: code = Unavailable desc = error reading
// from server: EOF" and nak'd; the claim had committed under its live
// lease, every later copy was dropped as claimed, and the job stopped at
// 39/40.
func TestClaimAnswerLost(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	task, got := oneDelivery(t, env, "lostanswer")
	fault := &loseFirstClaimAnswer{}
	// The engine refuses connections: the task, once claimed, fails to
	// generate and is handed back, which ends the claim.
	w := offlineWorker(t, env, "lostanswer", leaseVia(t, env, fault.intercept))
	rec := &ackRecorder{Msg: got}
	w.handle(ctx, rec, w.slots[0], checkpoints(t, env), newJobWatch(env.Conn.Etcd, w.log, nil), time.Minute, nil)

	if fault.lost.Load() != 1 {
		t.Fatal("no claim answer was lost")
	}
	if rec.nakked.Load() != 0 {
		t.Errorf("delivery nak'd %d times, want 0: the claim was this worker's", rec.nakked.Load())
	}
	resp, err := env.Conn.Etcd.Get(ctx, cluster.ClaimKey(task.TaskID))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("claim still held after the task ended: %s", resp.Kvs[0].Value)
	}
}
