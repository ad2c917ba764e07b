package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/scheduler"
)

func claimEnded(task string, attempt int, leaseExpired bool) scheduler.Event {
	return scheduler.Event{
		Kind:         scheduler.EventClaimEnded,
		Claim:        scheduler.Claim{Task: task, Job: "j1", Pool: "qwq", Worker: "w1", Attempt: attempt, AckSubject: "$JS.ACK.x"},
		LeaseExpired: leaseExpired,
	}
}

// TestRequeuerHandle runs each event through a Requeuer on a fresh ledger
// and checks the decision (or its absence) and what the ledger holds after.
func TestRequeuerHandle(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*scheduler.MemLedger)
		event  scheduler.Event
		want   []scheduler.Decision // Claim and Reason checked by substring below
		reason string
		gone   []string
		// after: the ledger's attempt and done for the event's task
		wantAttempt int
		wantDone    bool
	}{
		{
			name:  "lease expired",
			event: claimEnded("t1", 1, true),
			want:  []scheduler.Decision{{Action: scheduler.ActionRedeliver, Attempt: 2}}, reason: "worker w1 lease expired",
			wantAttempt: 2,
		},
		{
			name:  "handed back on drain",
			event: claimEnded("t1", 1, false),
			want:  []scheduler.Decision{{Action: scheduler.ActionRedeliver, Attempt: 2}}, reason: "released it without a result",
			wantAttempt: 2,
		},
		{
			name: "stranded: dispatched, never claimed",
			event: func() scheduler.Event {
				e := claimEnded("t1", 1, false)
				e.Claim.Worker, e.Claim.AckSubject = "", ""
				return e
			}(),
			want: []scheduler.Decision{{Action: scheduler.ActionRedeliver, Attempt: 2}}, reason: "no worker claimed it",
			wantAttempt: 2,
		},
		{
			name:     "result already in",
			setup:    func(l *scheduler.MemLedger) { l.MarkDone("t1") },
			event:    claimEnded("t1", 1, true),
			wantDone: true,
		},
		{
			name: "attempt already planned by another requeuer",
			setup: func(l *scheduler.MemLedger) {
				_ = l.Record(context.Background(), "t1", 2, 0, false)
			},
			event:       claimEnded("t1", 1, true),
			wantAttempt: 2,
		},
		{
			name:  "retry budget spent",
			event: claimEnded("t1", 3, false),
			want:  []scheduler.Decision{{Action: scheduler.ActionDeadLetter, Attempt: 3}}, reason: "retry budget spent: attempt 3 of 3",
			wantAttempt: 3, wantDone: true,
		},
		{
			name:  "worker gone",
			event: scheduler.Event{Kind: scheduler.EventWorkerGone, Worker: "w1"},
			// Passed on each time: moving a gone worker's backlog is the
			// Planner's to make idempotent.
			gone: []string{"w1", "w1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h, l := scheduler.NewHarness(), scheduler.NewMemLedger()
			if tc.setup != nil {
				tc.setup(l)
			}
			r, err := scheduler.NewRequeuer(h, l, scheduler.WithRetryPolicy(scheduler.RetryPolicy{MaxAttempts: 3}))
			if err != nil {
				t.Fatal(err)
			}
			// Twice: a claim's end is planned once, however often it is seen.
			for range 2 {
				if err := r.Handle(ctx, tc.event); err != nil {
					t.Fatalf("Handle: %v", err)
				}
			}
			ds := h.Decisions()
			if len(ds) != len(tc.want) {
				t.Fatalf("decisions = %+v, want %d", ds, len(tc.want))
			}
			for i, d := range ds {
				w := tc.want[i]
				if d.Action != w.Action || d.Attempt != w.Attempt || d.Claim != tc.event.Claim || !strings.Contains(d.Reason, tc.reason) {
					t.Errorf("decision = %+v, want %v attempt %d of %+v with reason %q", d, w.Action, w.Attempt, tc.event.Claim, tc.reason)
				}
			}
			if got := h.Gone(); strings.Join(got, ",") != strings.Join(tc.gone, ",") {
				t.Errorf("gone = %v, want %v", got, tc.gone)
			}
			if tc.event.Kind != scheduler.EventClaimEnded {
				return
			}
			attempt, _, _ := l.Attempt(ctx, tc.event.Claim.Task)
			done, _ := l.Done(ctx, tc.event.Claim.Task)
			if attempt != tc.wantAttempt || done != tc.wantDone {
				t.Errorf("ledger after: attempt %d done %v, want %d %v", attempt, done, tc.wantAttempt, tc.wantDone)
			}
		})
	}
}

// sliceEvents is an Events source over a fixed list, then err.
type sliceEvents struct {
	events []scheduler.Event
	err    error
}

func (s *sliceEvents) Next(ctx context.Context) (scheduler.Event, error) {
	if len(s.events) == 0 {
		return scheduler.Event{}, s.err
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, ctx.Err()
}

// failingPlanner fails every redelivery.
type failingPlanner struct{ *scheduler.Harness }

var errPlan = errors.New("nats down")

func (failingPlanner) Redeliver(context.Context, scheduler.Decision) error { return errPlan }

func TestRequeuerRun(t *testing.T) {
	ctx := context.Background()
	errSource := errors.New("watch closed")
	tests := []struct {
		name      string
		planner   scheduler.Planner
		wantErr   error
		wantGone  int
		wantCalls int
	}{
		{"source error ends Run after the events", scheduler.NewHarness(), errSource, 1, 1},
		{"planner error ends Run at once", failingPlanner{scheduler.NewHarness()}, errPlan, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &sliceEvents{events: []scheduler.Event{claimEnded("t1", 1, true), {Kind: scheduler.EventWorkerGone, Worker: "w1"}}, err: errSource}
			r, err := scheduler.NewRequeuer(tc.planner, scheduler.NewMemLedger())
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Run(ctx, src); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run = %v, want %v", err, tc.wantErr)
			}
			var h *scheduler.Harness
			switch p := tc.planner.(type) {
			case *scheduler.Harness:
				h = p
			case failingPlanner:
				h = p.Harness
			}
			if len(h.Decisions()) != tc.wantCalls || len(h.Gone()) != tc.wantGone {
				t.Errorf("decisions %+v gone %v, want %d and %d", h.Decisions(), h.Gone(), tc.wantCalls, tc.wantGone)
			}
		})
	}
	t.Run("ctx end returns nil", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		r, _ := scheduler.NewRequeuer(scheduler.NewHarness(), scheduler.NewMemLedger())
		if err := r.Run(cctx, &sliceEvents{err: context.Canceled}); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	})
}

func TestNewRequeuerOptions(t *testing.T) {
	tests := []struct {
		name    string
		planner scheduler.Planner
		ledger  scheduler.Ledger
		opts    []scheduler.RequeuerOption
		want    error
	}{
		{"nil planner", nil, scheduler.NewMemLedger(), nil, scheduler.ErrNoPlanner},
		{"nil ledger", scheduler.NewHarness(), nil, nil, scheduler.ErrNoLedger},
		{"negative budget", scheduler.NewHarness(), scheduler.NewMemLedger(), []scheduler.RequeuerOption{scheduler.WithRetryPolicy(scheduler.RetryPolicy{MaxAttempts: -1})}, scheduler.ErrInvalidOption},
		{"nil logger", scheduler.NewHarness(), scheduler.NewMemLedger(), []scheduler.RequeuerOption{scheduler.WithRequeuerLogger(nil)}, scheduler.ErrInvalidOption},
		{"ok", scheduler.NewHarness(), scheduler.NewMemLedger(), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scheduler.NewRequeuer(tc.planner, tc.ledger, tc.opts...)
			if !errors.Is(err, tc.want) {
				t.Errorf("NewRequeuer err = %v, want %v", err, tc.want)
			}
		})
	}
}
