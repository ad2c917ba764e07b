package scheduler_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/scheduler"
)

// runRequeuer starts a Requeuer from the current revision (so nothing after
// this call is missed) and stops it, waiting, at cleanup.
func runRequeuer(t *testing.T, cli *clientv3.Client, h *scheduler.Harness, opts ...scheduler.RequeuerOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := cli.Get(ctx, cluster.KeyPrefix, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, scheduler.WithStartRevision(resp.Header.Revision+1))
	r, err := scheduler.NewRequeuer(cli, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newLease(ctx context.Context, t *testing.T, cli *clientv3.Client) *cluster.Lease {
	t.Helper()
	l, err := cluster.NewLease(ctx, cli, cluster.WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func claim(ctx context.Context, t *testing.T, l *cluster.Lease, task, worker string, attempt int) int64 {
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

	l := newLease(ctx, t, env.Connect(t).Etcd)
	if err := l.Register(ctx, cluster.WorkerInfo{ID: "w1", Pool: "qwq", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	claim(ctx, t, l, "t1", "w1", 1)
	rev := claim(ctx, t, l, "t2", "w1", 1)
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
	latency := time.Since(killed)
	t.Logf("requeued %v after kill (lease TTL %v)", latency, l.TTL())
	if latency > l.TTL()+time.Second {
		t.Logf("latency above TTL + 1s; tolerated on a loaded test machine")
	}
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
	other := newLease(ctx, t, env.Connect(t).Etcd)
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
	l := newLease(ctx, t, env.Connect(t).Etcd)

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
		rev := claim(ctx, t, l, tc.task, "w1", tc.attempt)
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

func TestNewRequeuerOptions(t *testing.T) {
	tests := []struct {
		name    string
		planner scheduler.Planner
		opts    []scheduler.RequeuerOption
		want    error
	}{
		{"nil planner", nil, nil, scheduler.ErrNoPlanner},
		{"negative budget", scheduler.NewHarness(), []scheduler.RequeuerOption{scheduler.WithRetryPolicy(scheduler.RetryPolicy{MaxAttempts: -1})}, scheduler.ErrInvalidOption},
		{"nil done checker", scheduler.NewHarness(), []scheduler.RequeuerOption{scheduler.WithDoneChecker(nil)}, scheduler.ErrInvalidOption},
		{"ok", scheduler.NewHarness(), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scheduler.NewRequeuer(nil, tc.planner, tc.opts...)
			if !errors.Is(err, tc.want) {
				t.Errorf("NewRequeuer err = %v, want %v", err, tc.want)
			}
		})
	}
}
