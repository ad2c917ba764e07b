package scheduler

import (
	"context"
	"fmt"
	"log/slog"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventClaimEnded: a claim was deleted. Whether its task is done is the
	// Ledger's to say; the event only says the claim is gone and why. A
	// claim with no Worker is a task that was dispatched and never claimed
	// (the coordinator's reconciler found it stranded); it is planned alike.
	EventClaimEnded EventKind = iota + 1
	// EventWorkerGone: a worker's registration ended (lease expired or
	// deregistered).
	EventWorkerGone
)

// Event is one change in the fleet that the Requeuer decides on. The
// coordinator derives events from its etcd watch of claims and worker
// registrations; tests build them by hand.
type Event struct {
	Kind EventKind
	// Claim is the claim as it was before it ended (EventClaimEnded).
	Claim Claim
	// LeaseExpired (EventClaimEnded): the claim ended because its worker's
	// lease is gone (a crash, a partition, a stall); otherwise the worker
	// released it without a result (a hand-back on drain).
	LeaseExpired bool
	// Worker is the worker that is gone (EventWorkerGone).
	Worker string
}

// Events is where the Requeuer reads its events. The coordinator implements
// it over an etcd watch.
type Events interface {
	// Next blocks until the next event, and returns an error when ctx ends
	// or the source fails. Calling Next again tells the source that the event
	// it returned last was handled; a source that is resumed after an error
	// (a new watch from the last handled position) therefore repeats an event
	// whose handling failed instead of losing it.
	Next(ctx context.Context) (Event, error)
}

// Ledger is the durable record the Requeuer reads and writes: which tasks
// are done and which attempt of each was last planned. The coordinator keeps
// it in etcd (the done markers and attempts keys the workers' claims check);
// MemLedger keeps it in memory for tests.
type Ledger interface {
	// Done reports whether task's result is in (or it was dead-lettered).
	Done(ctx context.Context, task string) (bool, error)
	// Attempt returns the last attempt recorded for task and the record's
	// version, for Record's compare-and-swap; (0, 0) when none is recorded.
	Attempt(ctx context.Context, task string) (attempt int, version int64, err error)
	// Record sets task's last attempt, only if the record is still at
	// version; deadLetter also marks the task done in the same write, which
	// fences late copies of a dead-lettered task. A record that moved on
	// meanwhile (another requeuer) is not an error.
	Record(ctx context.Context, task string, attempt int, version int64, deadLetter bool) error
}

// Requeuer turns claims that end without a result and workers that vanish
// into decisions, and hands them to the Planner. A worker that dies loses
// its lease; etcd deletes its claims at once, and the coordinator's watch
// reports the deletions within the lease TTL plus etcd's expiry tick (about
// half a second), long before JetStream's AckWait would redeliver.
//
// Only the leading coordinator runs it. Two replicas running it at once
// (during a leadership change) are safe: the attempt is recorded by
// compare-and-swap, a decision is planned only by the replica that sees the
// old attempt, and planners are idempotent by Nats-Msg-Id.
type Requeuer struct {
	planner Planner
	ledger  Ledger
	policy  RetryPolicy
	log     *slog.Logger
}

// RequeuerOption tunes NewRequeuer.
type RequeuerOption func(*Requeuer) error

// WithRetryPolicy sets the retry budget.
func WithRetryPolicy(p RetryPolicy) RequeuerOption {
	return func(r *Requeuer) error {
		if p.MaxAttempts < 0 {
			return fmt.Errorf("%w: max attempts %d < 0", ErrInvalidOption, p.MaxAttempts)
		}
		r.policy = p
		return nil
	}
}

// WithRequeuerLogger sets the logger.
func WithRequeuerLogger(l *slog.Logger) RequeuerOption {
	return func(r *Requeuer) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		r.log = l
		return nil
	}
}

// NewRequeuer returns a Requeuer that carries out its decisions through
// planner and keeps its record in ledger; Run or Handle drive it.
func NewRequeuer(planner Planner, ledger Ledger, opts ...RequeuerOption) (*Requeuer, error) {
	if planner == nil {
		return nil, ErrNoPlanner
	}
	if ledger == nil {
		return nil, ErrNoLedger
	}
	r := &Requeuer{planner: planner, ledger: ledger, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run handles events until ctx ends (returning nil) or an error: the
// source's, or a Planner's or Ledger's. It runs in the caller's goroutine and
// starts none. After an error the owner may resume the source and call Run
// again; the event whose handling failed comes again (see Events.Next).
func (r *Requeuer) Run(ctx context.Context, events Events) error {
	for {
		ev, err := events.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if err := r.Handle(ctx, ev); err != nil {
			if ctx.Err() != nil {
				return nil // stopped mid-decision; a rerun redoes it
			}
			return err
		}
	}
}

// Handle decides on one event and has the Planner carry it out. It is
// idempotent: handling an event twice plans nothing twice.
func (r *Requeuer) Handle(ctx context.Context, ev Event) error {
	switch ev.Kind {
	case EventWorkerGone:
		if err := r.planner.WorkerGone(ctx, ev.Worker); err != nil {
			return fmt.Errorf("requeue worker %s: %w", ev.Worker, err)
		}
		return nil
	case EventClaimEnded:
		return r.claimEnded(ctx, ev.Claim, ev.LeaseExpired)
	}
	return fmt.Errorf("requeuer: unknown event kind %d", ev.Kind)
}

// claimEnded plans the next step for a claim that ended without a result.
func (r *Requeuer) claimEnded(ctx context.Context, c Claim, leaseExpired bool) error {
	done, err := r.ledger.Done(ctx, c.Task)
	if err != nil {
		return fmt.Errorf("requeue task %s: %w", c.Task, err)
	}
	if done {
		return nil
	}
	cause := fmt.Sprintf("worker %s released it without a result", c.Worker)
	switch {
	case c.Worker == "":
		// The coordinator's reconciler: dispatched, never claimed.
		cause = "no worker claimed it"
	case leaseExpired:
		cause = fmt.Sprintf("worker %s lease expired", c.Worker)
	}
	d := r.policy.Decide(c, cause)

	recorded, version, err := r.ledger.Attempt(ctx, c.Task)
	if err != nil {
		return fmt.Errorf("requeue task %s: %w", c.Task, err)
	}
	if d.Action == ActionRedeliver && recorded >= d.Attempt {
		return nil // another requeuer already planned this attempt
	}
	// Plan first, then record: if we crash in between, the next requeuer
	// plans again and the planner's dedupe absorbs it; recording first could
	// lose the task.
	switch d.Action {
	case ActionRedeliver:
		err = r.planner.Redeliver(ctx, d)
	case ActionDeadLetter:
		err = r.planner.DeadLetter(ctx, d)
	}
	if err != nil {
		return fmt.Errorf("%s task %s attempt %d: %w", d.Action, c.Task, d.Attempt, err)
	}
	if err := r.ledger.Record(ctx, c.Task, d.Attempt, version, d.Action == ActionDeadLetter); err != nil {
		return fmt.Errorf("record attempt %d of %s: %w", d.Attempt, c.Task, err)
	}
	r.log.InfoContext(ctx, "requeued", "task", c.Task, "job", c.Job, "worker", c.Worker, "attempt", d.Attempt, "action", d.Action.String(), "reason", d.Reason)
	return nil
}
