package coordinator

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/scheduler"
)

// runRequeuer runs a Requeuer on the etcd watch from the current revision
// (so nothing after this call is missed), as the leader does, and stops it,
// waiting, at cleanup. It returns the handled revision the watch advances.
func runRequeuer(t *testing.T, cli *clientv3.Client, p scheduler.Planner, opts ...scheduler.RequeuerOption) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := cli.Get(ctx, cluster.KeyPrefix, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	handled.Store(resp.Header.Revision)
	r, err := scheduler.NewRequeuer(p, etcdLedger{cli: cli}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, watchClaims(ctx, cli, &handled, slog.New(slog.DiscardHandler))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &handled
}

func newTestLease(ctx context.Context, t *testing.T, cli *clientv3.Client) *cluster.Lease {
	t.Helper()
	l, err := cluster.NewLease(ctx, cli, cluster.WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func claimTask(ctx context.Context, t *testing.T, l *cluster.Lease, task, worker string, attempt int) int64 {
	t.Helper()
	rev, err := l.Claim(ctx, task, cluster.ClaimValue{Worker: worker, Attempt: attempt, Job: "j1", Pool: "qwq"})
	if err != nil {
		t.Fatalf("claim %s: %v", task, err)
	}
	return rev
}

// TestRequeuerLeaseExpiry kills a worker (orphans its lease) holding two
// tasks, one of them finished, and checks only the unfinished one is
// redelivered, with the next attempt, within the lease TTL plus slack.
func TestRequeuerLeaseExpiry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := clustertest.Start(t)
	h := scheduler.NewHarness()
	runRequeuer(t, env.Conn.Etcd, h)

	l := newTestLease(ctx, t, env.Connect(t).Etcd)
	if err := l.Register(ctx, cluster.WorkerInfo{ID: "w1", Pool: "qwq", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	claimTask(ctx, t, l, "t1", "w1", 1)
	rev := claimTask(ctx, t, l, "t2", "w1", 1)
	if err := l.Release(ctx, "t2", rev, true); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	l.Orphan()

	wctx, wcancel := context.WithTimeout(ctx, l.TTL()+5*time.Second)
	defer wcancel()
	err := h.WaitFor(wctx, func(ds []scheduler.Decision, gone []string) bool {
		return len(ds) >= 1 && slices.Contains(gone, "w1")
	})
	if err != nil {
		t.Fatalf("no requeue after %v: %v (decisions %+v)", time.Since(killed), err, h.Decisions())
	}
	t.Logf("requeued %v after kill (lease TTL %v)", time.Since(killed), l.TTL())
	ds := h.Decisions()
	if len(ds) != 1 {
		t.Fatalf("decisions = %+v, want only t1", ds)
	}
	d := ds[0]
	if d.Action != scheduler.ActionRedeliver || d.Claim.Task != "t1" || d.Attempt != 2 || d.Claim.Pool != "qwq" ||
		!strings.Contains(d.Reason, "lease expired") {
		t.Errorf("decision = %+v, want redeliver t1 attempt 2 for lease expiry", d)
	}
	// The old attempt is fenced off: a late copy of attempt 1 cannot claim.
	other := newTestLease(ctx, t, env.Connect(t).Etcd)
	if _, err := other.Claim(ctx, "t1", cluster.ClaimValue{Worker: "w2", Attempt: 1}); !errors.Is(err, cluster.ErrStaleAttempt) {
		t.Errorf("claim of attempt 1 after requeue: %v, want ErrStaleAttempt", err)
	}
	if _, err := other.Claim(ctx, "t1", cluster.ClaimValue{Worker: "w2", Attempt: 2}); err != nil {
		t.Errorf("claim of attempt 2: %v", err)
	}
}

func TestRequeuerHandBackAndDeadLetter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := clustertest.Start(t)
	h := scheduler.NewHarness()
	runRequeuer(t, env.Conn.Etcd, h, scheduler.WithRetryPolicy(scheduler.RetryPolicy{MaxAttempts: 3}))
	l := newTestLease(ctx, t, env.Connect(t).Etcd)

	tests := []struct {
		task       string
		attempt    int
		wantAction scheduler.Action
		wantReason string
	}{
		{"drained", 1, scheduler.ActionRedeliver, "released it without a result"},
		{"poison", 3, scheduler.ActionDeadLetter, "retry budget spent"},
	}
	doneWatch := env.Conn.Etcd.Watch(ctx, cluster.DoneKey("poison"))
	for i, tc := range tests {
		rev := claimTask(ctx, t, l, tc.task, "w1", tc.attempt)
		if err := l.Release(ctx, tc.task, rev, false); err != nil {
			t.Fatal(err)
		}
		if err := h.WaitFor(ctx, func(ds []scheduler.Decision, _ []string) bool { return len(ds) > i }); err != nil {
			t.Fatal(err)
		}
		d := h.Decisions()[i]
		if d.Claim.Task != tc.task || d.Action != tc.wantAction || !strings.Contains(d.Reason, tc.wantReason) {
			t.Errorf("decision = %+v, want %v of %s with reason %q", d, tc.wantAction, tc.task, tc.wantReason)
		}
	}
	// A dead-lettered task is marked done (after the planner returns), so no
	// late copy runs it again.
	select {
	case <-doneWatch:
	case <-ctx.Done():
		t.Fatal("no done marker for the dead-lettered task")
	}
	if _, err := l.Claim(ctx, "poison", cluster.ClaimValue{Worker: "w2", Attempt: 3}); !errors.Is(err, cluster.ErrDone) {
		t.Errorf("claim of dead-lettered task: %v, want ErrDone", err)
	}
}

// flakyPlanner fails its first redelivery, as a NATS outage would.
type flakyPlanner struct {
	*scheduler.Harness
	failed atomic.Bool
}

func (p *flakyPlanner) Redeliver(ctx context.Context, d scheduler.Decision) error {
	if p.failed.CompareAndSwap(false, true) {
		return errors.New("nats unavailable")
	}
	return p.Harness.Redeliver(ctx, d)
}

// TestRequeuerResumesAfterFailure: a decision whose planner call fails is
// not lost. The watch's handled revision stays before it, so the watch that
// the leader opens again (from handled) delivers the claim's end again.
func TestRequeuerResumesAfterFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := clustertest.Start(t)
	cli := env.Conn.Etcd
	resp, err := cli.Get(ctx, cluster.KeyPrefix, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	handled.Store(resp.Header.Revision)
	p := &flakyPlanner{Harness: scheduler.NewHarness()}
	r, err := scheduler.NewRequeuer(p, etcdLedger{cli: cli})
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLease(ctx, t, env.Connect(t).Etcd)
	rev := claimTask(ctx, t, l, "t1", "w1", 1)
	if err := l.Release(ctx, "t1", rev, false); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if err := r.Run(ctx, watchClaims(ctx, cli, &handled, log)); err == nil || !strings.Contains(err.Error(), "nats unavailable") {
		t.Fatalf("first Run = %v, want the planner's error", err)
	}
	if got := handled.Load(); got >= rev+1 {
		t.Fatalf("handled = %d after a failed decision on the release at %d", got, rev+1)
	}
	rctx, rcancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(rctx, watchClaims(rctx, cli, &handled, log)) }()
	if err := p.WaitFor(ctx, func(ds []scheduler.Decision, _ []string) bool { return len(ds) == 1 }); err != nil {
		t.Fatalf("no redelivery after resuming: %v", err)
	}
	rcancel()
	if err := <-errc; err != nil {
		t.Errorf("second Run: %v", err)
	}
	if d := p.Decisions()[0]; d.Claim.Task != "t1" || d.Attempt != 2 {
		t.Errorf("decision = %+v, want t1 attempt 2", d)
	}
}

func TestPlacedSubject(t *testing.T) {
	task := scheduler.Task{ID: "t1", JobID: "j1", Pool: "qwq"}
	tests := []struct {
		p    scheduler.Placement
		want string
	}{
		{scheduler.Placement{Worker: "w1", Affine: true}, "hintfleet.tasks.qwq.w.w1.j1"},
		{scheduler.Placement{Worker: "w1"}, "hintfleet.tasks.qwq.j1"},
		{scheduler.Placement{}, "hintfleet.tasks.qwq.j1"},
	}
	for _, tc := range tests {
		if got := placedSubject(task, tc.p); got != tc.want {
			t.Errorf("placedSubject(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
