package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
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
	if err := cluster.EnsureStreams(ctx, env.Conn.JS, cluster.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	const pool = "claimtest"
	cons, err := cluster.EnsurePoolConsumer(ctx, env.Conn.JS, pool, cluster.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
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
			task := protocol.Task{JobID: "j", TaskID: trajectory.TaskID("j", tc.name, 0), Pool: pool, Attempt: 1,
				Problem: trajectory.Problem{ID: tc.name, Question: "1+1?"}}
			b, err := task.Encode()
			if err != nil {
				t.Fatal(err)
			}
			m := nats.NewMsg(cluster.TaskSubject(pool, "j"))
			m.Data = b
			if _, err := env.Conn.JS.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
			got := fetchOne(t, cons)
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
