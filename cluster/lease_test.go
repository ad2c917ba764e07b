package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

func newLease(t *testing.T, cli *clientv3.Client) *cluster.Lease {
	t.Helper()
	l, err := cluster.NewLease(testCtx(t), cli, cluster.WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatalf("new lease: %v", err)
	}
	t.Cleanup(func() { _ = l.Close(testCtx(t)) })
	return l
}

// TestLeaseExpiryDropsClaims stops the keep-alive without revoking, as a
// kill -9 would, and waits for etcd to delete the claim and registration.
func TestLeaseExpiryDropsClaims(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	l := newLease(t, env.Connect(t).Etcd)
	if err := l.Register(ctx, cluster.WorkerInfo{ID: "w1", Pool: "qwq", Capacity: 4}); err != nil {
		t.Fatal(err)
	}
	rev, err := l.Claim(ctx, "t1", cluster.ClaimValue{Worker: "w1", Attempt: 1})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	watch := env.Conn.Etcd.Watch(ctx, cluster.ClaimKey("t1"), clientv3.WithRev(rev+1))
	start := time.Now()
	l.Orphan()
	// A generous bound: etcd checks expiry every 500 ms and revokes through
	// raft (an fsync); on a loaded machine that takes seconds, and a
	// lease that never expires still fails well within the test timeout.
	deadline := time.After(l.TTL() + 20*time.Second)
	for deleted := false; !deleted; {
		select {
		case wr := <-watch:
			for _, ev := range wr.Events {
				deleted = deleted || ev.Type == clientv3.EventTypeDelete
			}
		case <-deadline:
			t.Fatalf("claim still present %v after orphaning a %v lease", time.Since(start), l.TTL())
		}
	}
	resp, err := env.Conn.Etcd.Get(ctx, cluster.WorkerKey("w1"))
	if err != nil || resp.Count != 0 {
		t.Errorf("registration after expiry: count=%d err=%v, want gone", resp.Count, err)
	}
}

// TestLeaseDoneOnLoss revokes the lease behind the session's back and checks
// Done closes with ErrLeaseLost.
func TestLeaseDoneOnLoss(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	l := newLease(t, env.Connect(t).Etcd)
	if _, err := env.Conn.Etcd.Revoke(ctx, l.ID()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	select {
	case <-l.Done():
	case <-time.After(l.TTL() + 20*time.Second):
		t.Fatal("Done not closed after the lease was revoked")
	}
	if !errors.Is(l.Err(), cluster.ErrLeaseLost) {
		t.Errorf("Err = %v, want ErrLeaseLost", l.Err())
	}
	if _, err := l.Claim(ctx, "t1", cluster.ClaimValue{Worker: "w1", Attempt: 1}); err == nil {
		t.Error("claim with a lost lease succeeded")
	}
}

func TestClaimContention(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	leases := []*cluster.Lease{newLease(t, env.Connect(t).Etcd), newLease(t, env.Connect(t).Etcd)}
	const tries = 8
	var (
		mu      sync.Mutex
		wins    []int64
		claimed int
		wg      sync.WaitGroup
	)
	for i := range tries {
		l := leases[i%2]
		wg.Go(func() {
			// Each try is a delivery of its own (a copy of the task),
			// as JetStream's reply subjects tell them apart.
			rev, err := l.Claim(ctx, "hot", cluster.ClaimValue{Worker: "w", Attempt: 1, AckSubject: fmt.Sprintf("$JS.ACK.TASKS.pool.1.%d.%d", i, i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins = append(wins, rev)
			case errors.Is(err, cluster.ErrClaimed):
				claimed++
			default:
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if len(wins) != 1 || claimed != tries-1 {
		t.Fatalf("wins=%d claimed=%d, want 1 and %d", len(wins), claimed, tries-1)
	}
}

func TestClaimFencing(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	a, b := newLease(t, env.Connect(t).Etcd), newLease(t, env.Connect(t).Etcd)
	v := cluster.ClaimValue{Worker: "a", Attempt: 1}

	rev, err := a.Claim(ctx, "t1", v)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "t1", rev+1000, true); !errors.Is(err, cluster.ErrNotClaimed) {
		t.Errorf("release with wrong revision: %v, want ErrNotClaimed", err)
	}
	if err := a.Release(ctx, "t1", rev, true); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := b.Claim(ctx, "t1", v); !errors.Is(err, cluster.ErrDone) {
		t.Errorf("claim of a done task: %v, want ErrDone", err)
	}

	// A hand-back (release without done) lets another session claim.
	rev, err = a.Claim(ctx, "t2", v)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "t2", rev, false); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Conn.Etcd.Put(ctx, cluster.AttemptsKey("t2"), "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(ctx, "t2", v); !errors.Is(err, cluster.ErrStaleAttempt) {
		t.Errorf("claim of attempt 1 after requeue to 2: %v, want ErrStaleAttempt", err)
	}
	if _, err := b.Claim(ctx, "t2", cluster.ClaimValue{Worker: "b", Attempt: 2}); err != nil {
		t.Errorf("claim of attempt 2: %v", err)
	}
}

// countingKV counts the requests a client sends to etcd's KV service.
type countingKV struct {
	clientv3.KV
	mu   sync.Mutex
	gets int
	txns int
}

func (c *countingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.KV.Get(ctx, key, opts...)
}

func (c *countingKV) Txn(ctx context.Context) clientv3.Txn {
	c.mu.Lock()
	c.txns++
	c.mu.Unlock()
	return c.KV.Txn(ctx)
}

func (c *countingKV) counts() (gets, txns int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets, c.txns
}

// TestClaimRoundTrips: a first claim is one transaction and no read; a
// claim of a requeued task (its attempts key written) takes a second
// transaction, with the attempt read in the first one's Else.
func TestClaimRoundTrips(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	cli := env.Connect(t).Etcd
	kv := &countingKV{KV: cli.KV}
	cli.KV = kv
	l := newLease(t, cli)
	if _, err := l.Claim(ctx, "first", cluster.ClaimValue{Worker: "a", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if gets, txns := kv.counts(); gets != 0 || txns != 1 {
		t.Errorf("first claim: %d reads and %d transactions, want 0 and 1", gets, txns)
	}
	if _, err := env.Conn.Etcd.Put(ctx, cluster.AttemptsKey("requeued"), "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Claim(ctx, "requeued", cluster.ClaimValue{Worker: "a", Attempt: 2}); err != nil {
		t.Fatal(err)
	}
	if gets, txns := kv.counts(); gets != 0 || txns != 3 {
		t.Errorf("after a requeued task's claim: %d reads and %d transactions, want 0 and 3", gets, txns)
	}
}

// TestClaimIdempotent: the same lease claiming with the same value (the
// same delivery) gets its claim back, as a try whose answer was lost needs;
// another delivery, or another lease with the same value, is refused.
func TestClaimIdempotent(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	a, b := newLease(t, env.Connect(t).Etcd), newLease(t, env.Connect(t).Etcd)
	v := cluster.ClaimValue{Worker: "a", Attempt: 1, AckSubject: "$JS.ACK.TASKS.pool.1.7.7"}
	rev, err := a.Claim(ctx, "t1", v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.Claim(ctx, "t1", v)
	if err != nil || again != rev {
		t.Fatalf("the same claim again: revision %d, %v; want %d, nil", again, err, rev)
	}
	other := v
	other.AckSubject = "$JS.ACK.TASKS.pool.2.7.9" // a redelivery of the same task
	if _, err := a.Claim(ctx, "t1", other); !errors.Is(err, cluster.ErrClaimed) {
		t.Errorf("another delivery on the same lease: %v, want ErrClaimed", err)
	}
	_, err = b.Claim(ctx, "t1", v)
	if !errors.Is(err, cluster.ErrClaimed) {
		t.Errorf("the same value on another lease: %v, want ErrClaimed", err)
	}
	if !cluster.Settled(err) {
		t.Errorf("Settled(%v) = false", err)
	}
	if err := a.Release(ctx, "t1", again, true); err != nil {
		t.Errorf("release at the revision the second claim returned: %v", err)
	}
}
