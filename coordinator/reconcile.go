package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/scheduler"
)

// reconcileEvery is how often the reconciler compares what was dispatched
// with what is claimed or done.
const reconcileEvery = time.Second

// reconcile is the requeuer's backstop. The requeuer acts on claims that
// end; a task that was never claimed has no claim to end: a worker that died
// between fetching the message and claiming it, a claim that never reached
// etcd and was not nak'd, a message lost with a stream restored from disk.
// Such a task would wait for JetStream's AckWait (30 minutes) or for ever.
//
// Every reconcileEvery the reconciler lists, for each live job, the tasks
// dispatched and not in the output, and removes those claimed or marked done
// in etcd. What is left is either waiting in the stream for a worker (the
// backlog) or stranded. It cannot tell the two apart task by task without
// reading every message, so it asks the stream: while the job's pool has
// messages not yet delivered (NumPending of the pool's consumers), its tasks
// may be waiting there and none is judged. Once nothing waits, a task still
// neither claimed nor done was delivered and dropped; after it has been so
// for the workers' lease TTL (the time a claim may take to be written and
// seen, at most; half of it, since a claim takes milliseconds), the
// requeuer plans it like a claim that ended: attempt+1
// on the shared subject (a new Nats-Msg-Id, so the dedupe window does not
// drop it, and a recorded attempt that fences the stranded copy), or a dead
// letter when the retry budget is spent.
func (c *Coordinator) reconcile(ctx context.Context, rq *scheduler.Requeuer) error {
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	r := reconciler{c: c, rq: rq, since: map[string]time.Time{}, ttls: map[int64]time.Duration{}}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.pass(ctx, time.Now()); err != nil && ctx.Err() == nil {
			if isFenced(err) {
				return err // the term is over
			}
			c.log.Warn("reconcile", "err", err)
		}
	}
}

// reconciler is the state of reconcile between passes: when each task was
// first seen stranded, and the granted TTL of each worker lease seen.
type reconciler struct {
	c     *Coordinator
	rq    *scheduler.Requeuer
	since map[string]time.Time
	ttls  map[int64]time.Duration
}

// pass runs one comparison at now.
func (r *reconciler) pass(ctx context.Context, now time.Time) error {
	grace, err := r.grace(ctx)
	if err != nil || grace == 0 {
		clear(r.since) // no worker to run anything: nothing is stranded
		return err
	}
	waiting, err := r.waiting(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, j := range r.c.liveJobs() {
		j.mu.Lock()
		pool, state := j.pool(), j.rec.State
		j.mu.Unlock()
		if state.Terminal() || waiting[pool] {
			continue
		}
		stranded, err := r.stranded(ctx, j)
		if err != nil {
			return err
		}
		for _, s := range stranded {
			seen[s.Task] = true
			first, ok := r.since[s.Task]
			if !ok {
				r.since[s.Task] = now
				continue
			}
			if now.Sub(first) < grace {
				continue
			}
			if err := r.requeue(ctx, s, now.Sub(first)); err != nil {
				return err
			}
			delete(r.since, s.Task)
		}
	}
	for task := range r.since {
		if !seen[task] {
			delete(r.since, task)
		}
	}
	return nil
}

// requeue hands a stranded task to the requeuer as a claim of its current
// attempt that ended with no worker.
func (r *reconciler) requeue(ctx context.Context, s scheduler.Claim, idle time.Duration) error {
	attempt, _, err := etcdLedger{cli: r.c.conn.Etcd}.Attempt(ctx, s.Task)
	if err != nil {
		return err
	}
	s.Attempt = max(attempt, 1)
	r.c.log.Warn("task stranded: neither claimed nor done", "task", s.Task, "job", s.Job, "attempt", s.Attempt, "for", idle.Round(time.Millisecond))
	if err := r.rq.Handle(ctx, scheduler.Event{Kind: scheduler.EventClaimEnded, Claim: s}); err != nil {
		return fmt.Errorf("reconcile task %s: %w", s.Task, err)
	}
	r.c.metrics.reconciled.Inc()
	return nil
}

// stranded lists the job's tasks dispatched, not in its output, with no
// claim and no done marker in etcd.
func (r *reconciler) stranded(ctx context.Context, j *job) ([]scheduler.Claim, error) {
	j.mu.Lock()
	id, pool := j.rec.ID, j.pool()
	inFlight := j.rec.Counts.InFlight
	j.mu.Unlock()
	if inFlight == 0 {
		return nil, nil
	}
	resp, err := r.c.conn.Etcd.Txn(ctx).Then(
		clientv3.OpGet(cluster.JobClaimsPrefix(id), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(cluster.JobDonePrefix(id), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("reconcile job %s: read claims: %w", id, err)
	}
	owned := map[string]bool{}
	for _, rr := range resp.Responses {
		for _, kv := range rr.GetResponseRange().Kvs {
			owned[string(kv.Key)] = true
		}
	}
	if len(resp.Responses[0].GetResponseRange().Kvs) >= inFlight {
		return nil, nil // every task out is claimed
	}
	var out []scheduler.Claim
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.out == nil || j.rec.State.Terminal() {
		return nil, nil
	}
	for i := range j.rec.Counts.Dispatched {
		task, _, _ := j.taskAt(i)
		if j.out.isDone(task) || owned[cluster.ClaimKey(task)] || owned[cluster.DoneKey(task)] {
			continue
		}
		out = append(out, scheduler.Claim{Task: task, Job: id, Pool: pool})
	}
	return out, nil
}

// waiting reports, per pool, whether any of its task consumers has messages
// not yet delivered, or none exists yet: its tasks may be in the backlog.
func (r *reconciler) waiting(ctx context.Context) (map[string]bool, error) {
	pools := map[string]bool{}
	for _, j := range r.c.liveJobs() {
		j.mu.Lock()
		pools[j.pool()] = true
		j.mu.Unlock()
	}
	out := map[string]bool{}
	if len(pools) == 0 {
		return out, nil
	}
	st, err := r.c.js.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	consumed := map[string]bool{}
	lister := st.ListConsumers(ctx)
	for ci := range lister.Info() { // read to the end: the lister's goroutine sends until then
		for pool := range pools {
			if strings.HasPrefix(ci.Config.FilterSubject, poolSubjects(pool)) {
				consumed[pool] = true
				if ci.NumPending > 0 {
					out[pool] = true
				}
			}
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("reconcile: list consumers: %w", err)
	}
	for pool := range pools {
		if !consumed[pool] {
			out[pool] = true // no worker of the pool ever started: all waits
		}
	}
	return out, nil
}

// poolSubjects is the subject prefix of every task subject of pool, shared
// and per worker (cluster.TaskSubject, cluster.WorkerTaskSubject).
func poolSubjects(pool string) string {
	return strings.TrimSuffix(cluster.PoolConsumerConfig(pool, cluster.ConsumerOptions{}).FilterSubject, "*")
}

// grace is how long a task may stay dispatched and unowned before it is
// judged stranded: half the longest lease TTL among the live workers (a
// claim is written milliseconds after the fetch; the wait covers a worker
// between fetch and claim, and a nak's redelivery), at least one pass.
// Zero when no worker is live.
func (r *reconciler) grace(ctx context.Context) (time.Duration, error) {
	resp, err := r.c.conn.Etcd.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("reconcile: read workers: %w", err)
	}
	var grace time.Duration
	live := map[int64]bool{}
	for _, kv := range resp.Kvs {
		live[kv.Lease] = true
		ttl, ok := r.ttls[kv.Lease]
		if !ok {
			ttl = cluster.DefaultLeaseTTL
			if kv.Lease != 0 {
				tr, err := r.c.conn.Etcd.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
				if err != nil {
					return 0, fmt.Errorf("reconcile: read lease: %w", err)
				}
				if tr.GrantedTTL > 0 {
					ttl = time.Duration(tr.GrantedTTL) * time.Second
				}
			}
			r.ttls[kv.Lease] = ttl
		}
		grace = max(grace, ttl/2, reconcileEvery)
	}
	for l := range r.ttls {
		if !live[l] {
			delete(r.ttls, l)
		}
	}
	return grace, nil
}
