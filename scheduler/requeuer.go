package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
)

// DoneChecker tells whether a task's result is in. The default reads the done
// marker that cluster.Lease.Release writes with the claim's deletion; a
// coordinator may instead answer from its result intake.
type DoneChecker interface {
	Done(ctx context.Context, task string) (bool, error)
}

// EtcdDone is the DoneChecker that reads cluster.DoneKey.
type EtcdDone struct{ Client *clientv3.Client }

// Done implements DoneChecker.
func (e EtcdDone) Done(ctx context.Context, task string) (bool, error) {
	resp, err := e.Client.Get(ctx, cluster.DoneKey(task), clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("read done marker of %s: %w", task, err)
	}
	return resp.Count > 0, nil
}

// Requeuer watches etcd for claims that end without a result and workers
// that vanish, and hands the Planner what to do. A worker that dies loses
// its lease; etcd deletes its claims at once, and the Requeuer sees the
// deletions within the lease TTL plus etcd's expiry tick (about half a
// second), long before JetStream's AckWait would redeliver.
//
// Only the leading coordinator runs it. Two replicas running it at once
// (during a leadership change) are safe: the attempts key is bumped by
// compare-and-swap, a decision is planned only by the replica that sees the
// old attempt, and planners are idempotent by Nats-Msg-Id.
type Requeuer struct {
	cli     *clientv3.Client
	planner Planner
	policy  RetryPolicy
	done    DoneChecker
	log     *slog.Logger
	// handled is the last revision fully handled; Run resumes after it.
	handled atomic.Int64
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

// WithDoneChecker replaces EtcdDone.
func WithDoneChecker(d DoneChecker) RequeuerOption {
	return func(r *Requeuer) error {
		if d == nil {
			return fmt.Errorf("%w: nil done checker", ErrInvalidOption)
		}
		r.done = d
		return nil
	}
}

// WithStartRevision makes Run watch from rev, for a new leader resuming from
// the revision its predecessor recorded (see Revision). Revisions already
// compacted make Run fail with ErrWatchClosed.
func WithStartRevision(rev int64) RequeuerOption {
	return func(r *Requeuer) error {
		if rev < 0 {
			return fmt.Errorf("%w: start revision %d < 0", ErrInvalidOption, rev)
		}
		r.handled.Store(max(rev-1, 0))
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

// NewRequeuer returns a Requeuer; Run starts it.
func NewRequeuer(cli *clientv3.Client, planner Planner, opts ...RequeuerOption) (*Requeuer, error) {
	if planner == nil {
		return nil, ErrNoPlanner
	}
	r := &Requeuer{cli: cli, planner: planner, done: EtcdDone{Client: cli}, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Revision is the last etcd revision fully handled. A leader may persist it
// so its successor starts there (WithStartRevision) and misses no deletion.
func (r *Requeuer) Revision() int64 { return r.handled.Load() }

// Run watches until ctx ends (returning nil) or an error: a Planner error or
// a closed watch. It runs in the caller's goroutine and starts none that
// outlive it. After an error, Run may be called again and resumes after the
// last revision handled, so a failed decision is retried, not lost.
func (r *Requeuer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the watch goroutines the client started
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithFilterPut()}
	if h := r.handled.Load(); h > 0 {
		opts = append(opts, clientv3.WithRev(h+1))
	}
	wch := r.cli.Watch(clientv3.WithRequireLeader(ctx), cluster.KeyPrefix, opts...)
	for {
		select {
		case <-ctx.Done():
			return nil
		case wr, ok := <-wch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("requeuer: %w", ErrWatchClosed)
			}
			if err := wr.Err(); err != nil {
				return fmt.Errorf("requeuer: %w: %w", ErrWatchClosed, err)
			}
			for _, ev := range wr.Events {
				// Events come in revision order, and one revision (one txn)
				// may hold several: a revision is fully handled only once an
				// event of a later one begins.
				if rev := ev.Kv.ModRevision - 1; rev > r.handled.Load() {
					r.handled.Store(rev)
				}
				if err := r.handle(ctx, ev); err != nil {
					if ctx.Err() != nil {
						return nil // stopped mid-decision; a rerun redoes it
					}
					return err
				}
			}
			if n := len(wr.Events); n > 0 {
				r.handled.Store(wr.Events[n-1].Kv.ModRevision)
			}
		}
	}
}

func (r *Requeuer) handle(ctx context.Context, ev *clientv3.Event) error {
	key := string(ev.Kv.Key)
	if ev.PrevKv == nil {
		return nil // deleted before we watched, or a delete of nothing
	}
	switch {
	case strings.HasPrefix(key, cluster.WorkersPrefix):
		var info cluster.WorkerInfo
		if err := json.Unmarshal(ev.PrevKv.Value, &info); err != nil {
			r.log.WarnContext(ctx, "bad worker registration", "key", key, "err", err)
			return nil
		}
		if err := r.planner.WorkerGone(ctx, info.ID); err != nil {
			return fmt.Errorf("requeue worker %s: %w", info.ID, err)
		}
		return nil
	case strings.HasPrefix(key, cluster.ClaimsPrefix):
		cv, err := cluster.DecodeClaim(ev.PrevKv.Value)
		if err != nil {
			r.log.WarnContext(ctx, "bad claim", "key", key, "err", err)
			return nil
		}
		return r.claimEnded(ctx, cv, ev.PrevKv.Lease)
	}
	return nil
}

// claimEnded plans the next step for a claim deleted without a done marker.
func (r *Requeuer) claimEnded(ctx context.Context, cv cluster.ClaimValue, lease int64) error {
	done, err := r.done.Done(ctx, cv.Task)
	if err != nil {
		return fmt.Errorf("requeue task %s: %w", cv.Task, err)
	}
	if done {
		return nil
	}
	cause := r.cause(ctx, cv.Worker, lease)
	d := r.policy.Decide(Claim{
		Task: cv.Task, Job: cv.Job, Pool: cv.Pool, Worker: cv.Worker,
		Attempt: cv.Attempt, AckSubject: cv.AckSubject,
	}, cause)

	ak := cluster.AttemptsKey(cv.Task)
	ar, err := r.cli.Get(ctx, ak)
	if err != nil {
		return fmt.Errorf("requeue task %s: read attempts: %w", cv.Task, err)
	}
	var recorded, modRev int64
	if len(ar.Kvs) == 1 {
		recorded, _ = strconv.ParseInt(string(ar.Kvs[0].Value), 10, 64)
		modRev = ar.Kvs[0].ModRevision
	}
	if d.Action == ActionRedeliver && recorded >= int64(d.Attempt) {
		return nil // another requeuer already planned this attempt
	}
	// Plan first, then record: if we crash in between, the next requeuer
	// plans again and the planner's dedupe absorbs it; recording first could
	// lose the task.
	then := []clientv3.Op{clientv3.OpPut(ak, strconv.Itoa(d.Attempt))}
	switch d.Action {
	case ActionRedeliver:
		err = r.planner.Redeliver(ctx, d)
	case ActionDeadLetter:
		err = r.planner.DeadLetter(ctx, d)
		// The done marker fences late copies of a dead-lettered task.
		then = append(then, clientv3.OpPut(cluster.DoneKey(cv.Task), "dead-letter"))
	}
	if err != nil {
		return fmt.Errorf("%s task %s attempt %d: %w", d.Action, cv.Task, d.Attempt, err)
	}
	if _, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(ak), "=", modRev)).Then(then...).Commit(); err != nil {
		return fmt.Errorf("record attempt %d of %s: %w", d.Attempt, cv.Task, err)
	}
	r.log.InfoContext(ctx, "requeued", "task", cv.Task, "job", cv.Job, "worker", cv.Worker, "attempt", d.Attempt, "action", d.Action.String(), "reason", d.Reason)
	return nil
}

// cause says why a claim ended: the lease is gone (the worker died or was
// cut off) or the worker released it without a result (a hand-back on drain).
func (r *Requeuer) cause(ctx context.Context, worker string, lease int64) string {
	if lease != 0 {
		ttl, err := r.cli.TimeToLive(ctx, clientv3.LeaseID(lease))
		if err == nil && ttl.TTL == -1 {
			return fmt.Sprintf("worker %s lease expired", worker)
		}
	}
	return fmt.Sprintf("worker %s released it without a result", worker)
}
