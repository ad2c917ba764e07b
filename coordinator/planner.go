package coordinator

import (
	"context"
	"fmt"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
)

// planner carries out the requeuer's decisions (scheduler.Planner). Every
// method is idempotent, as a leadership change may repeat a decision: a
// redelivery publishes with Nats-Msg-Id TaskMsgID(task, attempt), which the
// stream dedupes, and a dead letter is written only if the task is not done.
type planner struct{ c *Coordinator }

var _ scheduler.Planner = planner{}

// Redeliver publishes attempt d.Attempt of the task on its pool's shared
// subject, then terminates the delivery the dead claim held so JetStream
// does not also redeliver it after AckWait. A task of a job that is no
// longer live (cancelled, finished, failed) or already done is not
// republished.
func (p planner) Redeliver(ctx context.Context, d scheduler.Decision) error {
	j, live := p.c.liveJob(d.Claim.Job)
	if !live {
		return p.terminate(d)
	}
	j.mu.Lock()
	idx, known := j.index(d.Claim.Task)
	skip := !known || j.out == nil || j.rec.State.Terminal() || j.out.isDone(d.Claim.Task)
	var (
		subject string
		t       protocol.Task
	)
	if !skip {
		t = j.task(idx, d.Attempt)
		subject = cluster.TaskSubject(j.pool(), j.rec.ID)
	}
	j.mu.Unlock()
	if skip {
		return p.terminate(d)
	}
	m, err := taskMsg(t, subject)
	if err != nil {
		return err
	}
	if _, err := p.c.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("redeliver task %s attempt %d: %w", t.TaskID, t.Attempt, err)
	}
	p.c.metrics.requeued.Inc()
	return p.terminate(d)
}

// DeadLetter writes the task to its job's dead_letters.jsonl, synced.
func (p planner) DeadLetter(_ context.Context, d scheduler.Decision) error {
	j, live := p.c.liveJob(d.Claim.Job)
	if !live {
		return p.terminate(d)
	}
	j.mu.Lock()
	idx, known := j.index(d.Claim.Task)
	var err error
	if known && j.out != nil && j.rec.State != JobCancelled {
		_, pr, sample := j.taskAt(idx)
		var wrote bool
		wrote, err = j.out.appendDeadLetter(DeadLetter{
			TaskID: d.Claim.Task, JobID: d.Claim.Job, ProblemID: pr.ID, Sample: sample,
			Attempt: d.Attempt, Worker: d.Claim.Worker, Reason: d.Reason, Time: now(),
		})
		if err == nil {
			err = j.out.sync()
		}
		if wrote && err == nil {
			p.c.metrics.deadLettered.Inc()
			j.refresh()
			p.c.maybeFinish(j)
		}
	}
	j.mu.Unlock()
	if err != nil {
		return fmt.Errorf("dead-letter task %s: %w", d.Claim.Task, err)
	}
	p.c.poke()
	return p.terminate(d)
}

// WorkerGone wakes the backlog sweep, which moves the tasks waiting on the
// dead worker's own subject (with Config.Affinity) to the shared one. The
// sweep also runs every tick, so a wake lost to a leadership change only
// delays it.
func (p planner) WorkerGone(context.Context, string) error {
	select {
	case p.c.swept <- struct{}{}:
	default:
	}
	return nil
}

// terminate ends the delivery a dead claim held. JetStream accepts "+TERM"
// on a delivery's reply subject from any connection.
func (p planner) terminate(d scheduler.Decision) error {
	if d.Claim.AckSubject == "" {
		return nil
	}
	if err := p.c.conn.NATS.Publish(d.Claim.AckSubject, []byte("+TERM")); err != nil {
		return fmt.Errorf("terminate delivery of %s: %w", d.Claim.Task, err)
	}
	return nil
}
