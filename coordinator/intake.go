package coordinator

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// intakeWait bounds one Fetch, and so how long a stop waits for the intake.
const intakeWait = 500 * time.Millisecond

// rawLimit bounds how much of a bad message a dead letter keeps.
const rawLimit = 512

// intake pulls results and makes each one end exactly once: written to
// trajectories.jsonl, written to dead_letters.jsonl (a failure the worker
// declared, or a message that does not parse), or dropped as a duplicate of
// a task already in either file. Results are taken as they arrive, each
// batch being what has arrived by then: waiting for a Fetch to fill or
// expire held every result up to intakeWait, and the job's last one too. A
// batch's messages are acked only after the files are synced, so a crash in
// between redelivers them and the rebuilt done set drops the copies.
func (c *Coordinator) intake(ctx context.Context, cons jetstream.Consumer) error {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(DefaultIntakeBatch, jetstream.FetchMaxWait(intakeWait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.log.Warn("fetch results", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(intakeWait):
			}
			continue
		}
		for msgs := range arrived(batch.Messages()) {
			if err := c.intakeBatch(msgs); err != nil {
				return err // unsynced lines: end the term; the successor rebuilds from the files
			}
		}
	}
	return nil
}

// arrived yields the messages of ch in batches: each one waits for a
// message, then takes those already there. It ends when ch is closed.
func arrived(ch <-chan jetstream.Msg) iter.Seq[[]jetstream.Msg] {
	return func(yield func([]jetstream.Msg) bool) {
		for m := range ch {
			msgs := []jetstream.Msg{m}
		more:
			for {
				select {
				case m, ok := <-ch:
					if !ok {
						break more
					}
					msgs = append(msgs, m)
				default:
					break more
				}
			}
			if !yield(msgs) {
				return
			}
		}
	}
}

// intakeBatch writes, syncs, then acks. An error means the files may hold
// lines that are not durable: nothing is acked.
func (c *Coordinator) intakeBatch(msgs []jetstream.Msg) error {
	touched := map[*job]struct{}{}
	var orphans []DeadLetter
	for _, m := range msgs {
		j, orphan, err := c.takeResult(m)
		if err != nil {
			return err
		}
		if j != nil {
			touched[j] = struct{}{}
		}
		if orphan != nil {
			orphans = append(orphans, *orphan)
		}
	}
	for j := range touched {
		j.mu.Lock()
		var err error
		if j.out != nil {
			err = j.out.sync()
			j.refresh()
			c.maybeFinish(j)
		}
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if err := c.writeOrphans(orphans); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			// Redelivered later and dropped as a duplicate.
			c.log.Warn("ack result", "err", err)
		}
	}
	c.poke()
	return nil
}

// refusal is the dead-letter reason of a result message DecodeResult refused.
func refusal(err error) string {
	if errors.Is(err, protocol.ErrVersion) {
		return "result refused: " + err.Error()
	}
	return "result does not parse: " + err.Error()
}

// takeResult handles one message. It returns the job whose files it
// appended to, or an orphan dead letter for a message that names no live
// job's task; an error only for a failed write.
func (c *Coordinator) takeResult(m jetstream.Msg) (*job, *DeadLetter, error) {
	r, perr := protocol.DecodeResult(m.Data())
	h := m.Headers()
	if r.JobID == "" {
		r.JobID = h.Get(protocol.HeaderJob)
	}
	if r.TaskID == "" {
		r.TaskID = h.Get(protocol.HeaderTask)
	}
	j, live := c.liveJob(r.JobID)
	if !live {
		if perr != nil {
			return nil, &DeadLetter{JobID: r.JobID, TaskID: r.TaskID, Reason: refusal(perr), Raw: raw(m.Data()), Time: now()}, nil
		}
		c.metrics.dropped.WithLabelValues("job_not_live").Inc()
		c.log.Warn("result for a job that is not live dropped", "job", r.JobID, "task", r.TaskID, "worker", r.Worker)
		return nil, nil, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	idx, known := j.index(r.TaskID)
	switch {
	case !known:
		reason := "result names a task the job does not have"
		if perr != nil {
			reason = refusal(perr)
		}
		return nil, &DeadLetter{JobID: r.JobID, TaskID: r.TaskID, Reason: reason, Raw: raw(m.Data()), Time: now()}, nil
	case j.out == nil || j.rec.State == JobCancelled:
		c.metrics.dropped.WithLabelValues("job_cancelled").Inc()
		return nil, nil, nil
	case j.out.isDone(r.TaskID):
		c.metrics.dropped.WithLabelValues("duplicate").Inc()
		c.log.Info("duplicate result dropped", "job", r.JobID, "task", r.TaskID, "worker", r.Worker, "attempt", r.Attempt, "lease", r.Lease)
		return nil, nil, nil
	}
	_, p, sample := j.taskAt(idx)
	var (
		wrote bool
		err   error
	)
	switch {
	case perr != nil:
		wrote, err = j.out.appendDeadLetter(DeadLetter{TaskID: r.TaskID, JobID: r.JobID, ProblemID: p.ID, Sample: sample,
			Reason: refusal(perr), Raw: raw(m.Data()), Time: now()})
		if wrote {
			c.metrics.deadLettered.Inc()
		}
	case r.Failure != "":
		wrote, err = j.out.appendDeadLetter(DeadLetter{TaskID: r.TaskID, JobID: r.JobID, ProblemID: p.ID, Sample: sample,
			Attempt: r.Attempt, Worker: r.Worker, Reason: "worker " + r.Worker + ": " + r.Failure, Time: now()})
		if wrote {
			c.metrics.deadLettered.Inc()
		}
	default:
		wrote, err = j.out.appendTrajectory(r.Trajectory)
		if wrote {
			c.metrics.completed.Inc()
			c.metrics.tokens.Add(float64(r.Trajectory.Tokens.Completion))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return j, nil, nil
}

// writeOrphans appends dead letters that belong to no live job's task to
// DataDir/dead_letters.jsonl, synced, so that no message is dropped silently.
func (c *Coordinator) writeOrphans(ds []DeadLetter) error {
	if len(ds) == 0 {
		return nil
	}
	t := c.currentTerm()
	if t == nil {
		return fmt.Errorf("write orphan dead letters: %w", ErrFenced)
	}
	if err := c.countFenced(t.check()); err != nil {
		return fmt.Errorf("write orphan dead letters: %w", err)
	}
	w, err := trajectory.OpenWriter(filepath.Join(c.cfg.DataDir, DeadLettersFile))
	if err != nil {
		return fmt.Errorf("write orphan dead letters: %w", err)
	}
	var errs []error
	for _, d := range ds {
		c.log.Warn("orphan result dead-lettered", "job", d.JobID, "task", d.TaskID, "reason", d.Reason)
		errs = append(errs, w.Append(d))
	}
	errs = append(errs, w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write orphan dead letters: %w", err)
	}
	c.metrics.dropped.WithLabelValues("orphan").Add(float64(len(ds)))
	return nil
}

func raw(b []byte) string {
	if len(b) > rawLimit {
		b = b[:rawLimit]
	}
	return string(b)
}

func now() time.Time { return time.Now().UTC() }
