package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/scheduler"
)

// lead runs the leader's actors until ctx ends or one fails: the result
// intake, the dispatcher, the requeuer, the reconciler behind it and the
// persister. It first rebuilds
// every live job from etcd and the output files, and at the end syncs and
// closes the files and writes the job records, so a successor starts from
// the truth.
func (c *Coordinator) lead(ctx context.Context, key string, rev int64) error {
	// The output's token first: from here on a predecessor that wakes up
	// finds a newer term there and appends nothing, so the files read next
	// are the whole truth.
	t, err := openTerm(c.cfg.DataDir, key, rev)
	if err != nil {
		return err
	}
	jobs, err := c.loadJobs(ctx, t)
	if err != nil {
		_ = t.close()
		return err
	}
	c.mu.Lock()
	c.jobs, c.leading, c.fence = jobs, true, t
	c.mu.Unlock()
	defer c.abdicate(ctx)

	cons, err := c.js.CreateOrUpdateConsumer(ctx, cluster.StreamResults,
		cluster.ResultsConsumerConfig(cluster.ConsumerOptions{AckWait: c.cfg.ResultAckWait}))
	if err != nil {
		return fmt.Errorf("ensure results consumer: %w", err)
	}
	rq, err := scheduler.NewRequeuer(planner{c}, jobLedger{etcdLedger{c.conn.Etcd, t}, c},
		scheduler.WithRetryPolicy(c.retryPolicy()),
		scheduler.WithRequeuerLogger(c.log))
	if err != nil {
		return fmt.Errorf("start requeuer: %w", err)
	}
	var handled atomic.Int64 // the requeuer's last revision fully handled
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.intake(gctx, cons) })
	g.Go(func() error { return c.dispatch(gctx) })
	g.Go(func() error { return c.requeue(gctx, rq, &handled) })
	g.Go(func() error { return c.reconcile(gctx, rq) })
	g.Go(func() error { return c.persist(gctx, t, &handled) })
	c.poke()
	if err := g.Wait(); err != nil && (ctx.Err() == nil || isFenced(err)) {
		return err
	}
	return nil
}

// abdicate ends the term: no writes are accepted, every file is synced and
// closed, and changed records are written with a short deadline of their
// own, still fenced by the term: after a lost election session they are
// refused, and the successor writes them from the files.
func (c *Coordinator) abdicate(ctx context.Context) {
	c.mu.Lock()
	jobs, t := c.jobs, c.fence
	c.jobs, c.leading, c.fence = nil, false, nil
	c.mu.Unlock()
	defer func() { _ = t.close() }()
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for _, j := range jobs {
		j.mu.Lock()
		if j.out != nil {
			if err := j.out.close(); err != nil {
				c.log.Error("close output", "job", j.rec.ID, "err", err)
			}
			j.out = nil
		}
		rec, dirty := j.rec, j.dirty
		j.dirty = false
		j.mu.Unlock()
		if dirty {
			if err := c.writeJob(pctx, t, rec, false); err != nil {
				c.log.Warn("write job record", "job", rec.ID, "err", err)
			}
		}
	}
}

// loadJobs rebuilds the live jobs. A job whose files cannot be read fails
// alone, with the reason in its record; the others go on.
func (c *Coordinator) loadJobs(ctx context.Context, t *term) (map[string]*job, error) {
	recs, err := listJobs(ctx, c.conn.Etcd)
	if err != nil {
		return nil, err
	}
	jobs := make(map[string]*job, len(recs))
	for _, rec := range recs {
		if rec.State.Terminal() {
			continue
		}
		j := &job{rec: rec}
		if err := c.openJob(j, t); err != nil {
			c.log.Error("job cannot resume", "job", rec.ID, "err", err)
			j.rec.State, j.rec.Error = JobFailed, err.Error()
			j.refresh()
			if err := c.writeJob(ctx, t, j.rec, false); err != nil {
				return nil, err
			}
			continue
		}
		j.mu.Lock()
		c.maybeFinish(j)
		j.mu.Unlock()
		jobs[rec.ID] = j
	}
	return jobs, nil
}

// openJob loads a job's problems and opens its output store.
func (c *Coordinator) openJob(j *job, t *term) error {
	dir := c.jobDir(j.rec.ID)
	ps, err := readProblems(dir)
	if err != nil {
		return err
	}
	if len(ps) != j.rec.Problems {
		return fmt.Errorf("problems file of %s holds %d problems, registry says %d", j.rec.ID, len(ps), j.rec.Problems)
	}
	out, err := openStore(dir, c.checker(t))
	if err != nil {
		return err
	}
	j.setProblems(ps)
	j.out = out
	j.refresh()
	return nil
}

// maybeFinish marks a job done once every task ended; callers hold j.mu.
func (c *Coordinator) maybeFinish(j *job) {
	cnt := j.rec.Counts
	if j.rec.State.Terminal() || cnt.Done+cnt.DeadLettered < cnt.Tasks {
		return
	}
	if err := j.out.sync(); err != nil {
		c.log.Error("sync output", "job", j.rec.ID, "err", err)
		return
	}
	j.rec.State = JobDone
	j.refresh()
	c.log.Info("job done", "job", j.rec.ID, "done", cnt.Done, "dead_lettered", cnt.DeadLettered)
}

// persist writes changed job records and the requeuer's revision every
// persistEvery. Records are progress for readers (standbys, the CLI); the
// output files stay the truth of what is done.
func (c *Coordinator) persist(ctx context.Context, t *term, handled *atomic.Int64) error {
	tick := time.NewTicker(persistEvery)
	defer tick.Stop()
	var savedRev int64
	for {
		select {
		case <-ctx.Done():
			return c.saveRevision(context.WithoutCancel(ctx), t, handled.Load(), &savedRev)
		case <-tick.C:
		}
		for _, j := range c.liveJobs() {
			j.mu.Lock()
			rec, dirty := j.rec, j.dirty
			j.dirty = false
			j.mu.Unlock()
			if !dirty {
				continue
			}
			if err := c.writeJob(ctx, t, rec, false); err != nil {
				if isFenced(err) {
					return err
				}
				j.mu.Lock()
				j.dirty = true
				j.mu.Unlock()
				c.log.Warn("write job record", "job", rec.ID, "err", err)
			}
		}
		if err := c.saveRevision(ctx, t, handled.Load(), &savedRev); err != nil {
			return err
		}
	}
}

// saveRevision records the requeuer's handled revision for the next
// leader; only a fenced write is an error (the term is over).
func (c *Coordinator) saveRevision(ctx context.Context, t *term, rev int64, saved *int64) error {
	if rev <= *saved {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := fencedTxn(ctx, c.conn.Etcd, t, nil, clientv3.OpPut(cluster.RequeuerRevisionKey, strconv.FormatInt(rev, 10))); err != nil {
		if isFenced(c.countFenced(err)) {
			return err
		}
		c.log.Warn("save requeuer revision", "err", err)
		return nil
	}
	*saved = rev
	return nil
}

// liveJobs returns the leader's jobs; nil on a standby.
func (c *Coordinator) liveJobs() []*job {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*job, 0, len(c.jobs))
	for _, j := range c.jobs {
		out = append(out, j)
	}
	return out
}

func (c *Coordinator) liveJob(id string) (*job, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.jobs[id]
	return j, ok
}

// jobLedger is the requeuer's Ledger: etcd's, except that a task is done
// when its job, live on this leader, is over. A claim of an ended job (a
// cancel's hand-backs, a worker dying after the job was cancelled) then
// plans nothing and, above all, records no attempt: the job's terminal
// record deleted its tasks' keys, and an attempt written after it would
// stay in etcd for good.
type jobLedger struct {
	etcdLedger
	c *Coordinator
}

func (l jobLedger) Done(ctx context.Context, task string) (bool, error) {
	if l.over(ctx, task) {
		return true, nil
	}
	return l.etcdLedger.Done(ctx, task)
}

// Record skips the write for a job that ended since Done was asked, which
// narrows the window in which an attempt outlives its job to the etcd round
// trip of the write itself.
func (l jobLedger) Record(ctx context.Context, task string, attempt int, version int64, deadLetter bool) error {
	if l.over(ctx, task) {
		return nil
	}
	return l.c.countFenced(l.etcdLedger.Record(ctx, task, attempt, version, deadLetter))
}

// over reports whether task's job has ended: terminal on this leader, or,
// for a job it does not hold (terminal jobs are not loaded after a
// leadership change), terminal or gone in the registry. A failed read is
// not an end.
func (l jobLedger) over(ctx context.Context, task string) bool {
	id, _, _ := strings.Cut(task, "/")
	if j, live := l.c.liveJob(id); live {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.rec.State.Terminal()
	}
	rec, err := getJob(ctx, l.c.conn.Etcd, id)
	switch {
	case errors.Is(err, ErrJobNotFound):
		return true
	case err != nil:
		return false
	}
	return rec.State.Terminal()
}
