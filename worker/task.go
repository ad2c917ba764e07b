package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// finishTimeout bounds the writes that end a task (publish, release, ack,
// checkpoint) when the task's own context has ended.
const finishTimeout = 5 * time.Second

// handle runs one delivery to its end. The claim is the truth of who runs
// the task: a copy that cannot be claimed is acked and dropped, because the
// holder either finishes it or loses its lease, and then the requeuer
// republishes it. On success the order is publish result (acked) → release
// with done → ack, so a crash at any point leaves either a claim that
// expires (requeue; the second result is deduped) or a done marker (the
// redelivered copy is dropped at claim).
//
// The outcome (tokens generated, the run's error) feeds the engine's
// adaptive limiter; a task that never ran reports context.Canceled, which
// the limiter counts as neither success nor failure. ended, when not nil, is
// told the outcome as soon as generation ends, before the writes that
// finish the task, so the engine's slot goes to the next task meanwhile;
// handle does not call it for a task that never ran.
func (w *Worker) handle(ctx context.Context, m jetstream.Msg, s *slot, kv *checkpointStore, jobs *jobWatch, ackWait time.Duration,
	ended func(taskOutcome)) (out taskOutcome) {
	out.err = context.Canceled
	t, err := protocol.DecodeTask(m.Data())
	if err != nil {
		// Not parsing and a major version this build does not speak end
		// alike: dead-lettered with the reason, never run on a guess.
		w.refuse(ctx, m, fmt.Sprintf("task message refused: %v", err))
		return
	}
	log := w.log.With("task", t.TaskID, "job", t.JobID, "attempt", t.Attempt, "worker", w.cfg.ID)
	if jobs.isCancelled(t.JobID) {
		_ = m.Term()
		return
	}
	if !w.accepting(s) {
		// The engine or a GPU failed while the task waited for admission:
		// hand the message to another worker unclaimed.
		_ = m.Nak()
		return
	}
	lease := w.Lease()
	rev, err := w.claim(ctx, log, lease, t.TaskID, cluster.ClaimValue{
		Worker: w.cfg.ID, Attempt: t.Attempt, Job: t.JobID, Pool: t.Pool, AckSubject: m.Reply(),
	})
	switch {
	case cluster.Settled(err):
		log.Debug("task dropped at claim", "err", err)
		_ = m.Ack()
		return
	case err != nil:
		// No claim: the lease is gone (and any claim made went with it) or
		// the worker is stopping (its lease is revoked or expires). Nak,
		// so the message goes to the next fetch instead of waiting out
		// AckWait. The short delay keeps a worker cut off from etcd from
		// spending the message's deliveries (MaxDeliver) in a tight loop
		// before its lease runs out and it stops pulling.
		_ = m.NakWithDelay(claimNakDelay)
		w.metrics.claimFailed.Inc()
		log.Warn("claim task; nak", "err", err)
		return
	}

	cfg, err := t.Hint.Config(t.Sample)
	if err != nil {
		w.fail(ctx, ctx, log, m, t, rev, fmt.Sprintf("hint config: %v", err))
		return
	}

	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.inflight[t.TaskID] = &running{job: t.JobID, slot: s, cancel: cancel}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.inflight, t.TaskID)
		w.mu.Unlock()
	}()
	if jobs.isCancelled(t.JobID) { // cancelled between the check and the claim
		cancel(ErrJobCancelled)
	}

	stopProgress := w.keepAlive(tctx, m, ackWait)
	// Only a retry or a redelivery can have a checkpoint to resume: a first
	// delivery of a first attempt skips the read (a watch on the bucket).
	resume := t.Attempt > 1
	if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
		resume = true
	}
	tr, rec, runErr := w.generate(tctx, log, t, cfg, s, kv, resume)
	stopProgress()
	out = taskOutcome{tokens: rec.liveTokens, err: runErr}
	cause := context.Cause(tctx)
	if runErr != nil && cause != nil {
		out.err = context.Canceled // stopped by us, not the engine's failure
	}
	if ended != nil {
		ended(out)
	}

	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer fcancel()
	switch {
	case errors.Is(cause, cluster.ErrLeaseLost) || lease.Err() != nil:
		// The claim is gone with the lease: another worker may run the task
		// already. Touch nothing; a result now would be fenced anyway.
		log.Info("task abandoned: lease lost")
	case errors.Is(cause, ErrJobCancelled):
		w.handBack(ctx, log, t.TaskID, rev)
		_ = m.Term()
	case runErr == nil:
		w.succeed(ctx, log, m, t, rev, s, tr, kv)
	case errors.Is(runErr, hint.ErrConfig), errors.Is(runErr, hint.ErrTemplate):
		w.fail(fctx, ctx, log, m, t, rev, runErr.Error())
	default:
		// Engine or tool failure, a drain that ran out, a stop: save where
		// it got to and hand the task back. The requeuer republishes it
		// with attempt+1 (or dead-letters it when the budget is spent) and
		// terminates this delivery.
		if err := rec.ckpt.compact(fctx, rec.log); err != nil {
			log.Warn("compact checkpoint", "err", err)
		}
		w.handBack(ctx, log, t.TaskID, rev)
		w.metrics.handedBack.Inc()
		log.Info("task handed back", "err", runErr, "cause", cause)
	}
	return out
}

// taskOutcome is what one delivery did, for the adaptive limiter.
type taskOutcome struct {
	tokens int // completion tokens generated live (not replayed)
	err    error
}

// generate runs hint on the task, resuming from the task's checkpoint.
func (w *Worker) generate(ctx context.Context, log *slog.Logger, t protocol.Task, cfg hint.Config,
	s *slot, kv *checkpointStore, resume bool) (trajectory.Trajectory, *recorder, error) {
	var old *Checkpoint
	if resume {
		lctx, cancel := context.WithTimeout(ctx, finishTimeout)
		var err error
		if old, err = kv.load(lctx, t.TaskID); err != nil {
			log.Warn("read checkpoint; starting afresh", "err", err)
		}
		cancel()
	}
	fresh := Checkpoint{TaskID: t.TaskID, Attempt: t.Attempt, Worker: w.cfg.ID}
	ckpt := kv.log(t.TaskID, old)
	rec := newRecorder(taskGenerator(s.eng), old, fresh, w.cfg.CheckpointEvery, func(cp Checkpoint) {
		if err := ckpt.save(ctx, cp); err != nil {
			log.Warn("save checkpoint", "err", err)
		}
	})
	rec.ckpt = ckpt
	rec.onTokens = func(n int) {
		w.metrics.tokens.Add(float64(n))
		s.produced.Add(int64(n))
	}
	rec.onTool = func(d time.Duration) { w.metrics.toolDuration.Observe(d.Seconds()) }
	var session hint.ToolSession
	if w.cfg.Tools != nil {
		sess, err := w.cfg.Tools.Open(ctx, t.TaskID)
		if err != nil {
			return trajectory.Trajectory{}, rec, fmt.Errorf("open tools for %s: %w", t.TaskID, err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
			defer cancel()
			_ = sess.Close(cctx)
		}()
		session = rec.Tool(sess)
	}
	tr, err := hint.Run(ctx, rec, session, t.Problem, cfg)
	if err == nil && t.Problem.Answer != "" && t.Problem.Kind != trajectory.KindCode {
		// hint's check is a basic string comparison; the grader knows
		// "9i + 6" is "6+9i" and "x^{3}" is "x^3".
		// No sympy fallback here: curation can regrade in the sandbox.
		var g curate.MathGrader
		g.GradeTrajectory(ctx, &tr, t.Problem.Answer)
	}
	return tr, rec, err
}

// handBack releases the claim on task without marking it done, so that the
// requeuer republishes it.
func (w *Worker) handBack(ctx context.Context, log *slog.Logger, task string, rev int64) {
	w.release(ctx, log, task, rev, false)
}

// release ends the claim on task, with the done marker when done. It
// retries while etcd cannot be reached (a restart, a partition, a member
// killed under the request): a claim left behind under a lease that stays
// alive would hold the task until the worker dies, because the requeuer acts
// only on claims that end and the reconciler skips claimed tasks. It gives
// up only when the claim is already gone, the lease is lost (the claim went
// with it), or ctx ends (the worker is stopping and its lease will be
// revoked or expire). In every one of those cases the claim no longer holds
// the task: either it is done, or the requeuer republishes it (a second
// result is dropped by the intake's dedupe).
func (w *Worker) release(ctx context.Context, log *slog.Logger, task string, rev int64, done bool) {
	lease := w.Lease()
	b := backoff{next: handBackRetry, max: handBackRetryMax}
	for {
		rctx, cancel := context.WithTimeout(ctx, finishTimeout)
		err := lease.Release(rctx, task, rev, done)
		cancel()
		if err == nil || errors.Is(err, cluster.ErrNotClaimed) {
			return
		}
		log.Warn("release task", "done", done, "err", err, "retry_in", b.next)
		if !b.wait(ctx, lease.Done()) {
			return
		}
	}
}

// backoff spaces the tries of a write that must land: next, then doubling
// up to max.
type backoff struct{ next, max time.Duration }

// wait sleeps until the next try; false when ctx ends or stop is closed
// first (a nil stop never is).
func (b *backoff) wait(ctx context.Context, stop <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	case <-time.After(b.next):
	}
	b.next = min(2*b.next, b.max)
	return true
}

// claim takes the task, trying again while the outcome is unknown. A
// claim whose answer was lost (the etcd member under the request killed
// after the commit) may hold the task under this worker's live lease:
// nak'd, its message went to the next worker, which found it claimed and
// dropped it, and nobody ran the task while the lease lived (the requeuer
// acts on claims that end, the reconciler skips claimed tasks; the job
// stopped at 39/40 in the stream-leader-kill chaos run). Claim is
// idempotent for the same delivery, so the next try that gets an answer
// tells. It gives up only when the lease is lost or ctx ends: then no
// claim of this worker's survives.
func (w *Worker) claim(ctx context.Context, log *slog.Logger, lease *cluster.Lease, task string, v cluster.ClaimValue) (int64, error) {
	b := backoff{next: claimRetry, max: claimRetryMax}
	for {
		rev, err := lease.Claim(ctx, task, v)
		if err == nil || cluster.Settled(err) || lease.Err() != nil || ctx.Err() != nil {
			return rev, err
		}
		log.Warn("claim task; outcome unknown, trying again", "err", err, "retry_in", b.next)
		if !b.wait(ctx, lease.Done()) {
			return 0, err
		}
	}
}

// Retry bounds of claim.
const (
	claimRetry    = 100 * time.Millisecond
	claimRetryMax = 2 * time.Second
)

// claimNakDelay is how long a delivery whose claim failed waits before
// JetStream delivers it again.
const claimNakDelay = 500 * time.Millisecond

// Retry bounds of release.
const (
	handBackRetry    = 200 * time.Millisecond
	handBackRetryMax = 5 * time.Second
)

func (w *Worker) succeed(hctx context.Context, log *slog.Logger, m jetstream.Msg, t protocol.Task, rev int64, s *slot, tr trajectory.Trajectory, kv *checkpointStore) {
	tr.TaskID, tr.JobID, tr.Sample = t.TaskID, t.JobID, t.Sample
	tr.Worker, tr.Attempt = w.cfg.ID, t.Attempt
	tr.Engine = trajectory.EngineRef{URL: s.eng.URL(), Model: s.eng.Model()}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(hctx), publishTimeout)
	defer cancel()
	if err := w.publish(pctx, t, rev, protocol.Result{Trajectory: &tr}); err != nil {
		// Not published: hand the task back rather than lose it.
		log.Warn("publish result", "err", err)
		w.handBack(hctx, log, t.TaskID, rev)
		return
	}
	// Ack only once the claim is released: a delivery acked on a failed
	// release left the claim on a live lease with nothing to end it.
	w.release(hctx, log, t.TaskID, rev, true)
	_ = m.Ack()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(hctx), finishTimeout) // ctx may have run out while release retried
	defer cancel()
	if err := kv.remove(rctx, t.TaskID); err != nil {
		log.Warn("remove checkpoint", "err", err)
	}
	w.metrics.completed.Inc()
	w.metrics.hints.Add(float64(tr.Hints))
	w.metrics.wasted.Add(float64(tr.Tokens.Wasted))
	log.Debug("task done", "tokens", tr.Tokens.Completion)
}

// fail declares a permanent failure: the coordinator dead-letters the task.
// hctx bounds the hand-back retries when the failure cannot be published.
func (w *Worker) fail(ctx, hctx context.Context, log *slog.Logger, m jetstream.Msg, t protocol.Task, rev int64, reason string) {
	if err := w.publish(ctx, t, rev, protocol.Result{Failure: reason}); err != nil {
		log.Warn("publish failure", "err", err)
		w.handBack(hctx, log, t.TaskID, rev)
		return
	}
	w.release(hctx, log, t.TaskID, rev, true)
	_ = m.Ack()
	w.metrics.deadLettered.Inc()
}

// refuse reports a task message that does not parse, attributed through its
// headers, so the coordinator dead-letters it instead of it vanishing.
func (w *Worker) refuse(ctx context.Context, m jetstream.Msg, reason string) {
	h := m.Headers()
	t := protocol.Task{JobID: h.Get(protocol.HeaderJob), TaskID: h.Get(protocol.HeaderTask)}
	t.Attempt, _ = strconv.Atoi(h.Get(protocol.HeaderAttempt))
	w.log.Warn("bad task message", "job", t.JobID, "task", t.TaskID, "reason", reason)
	if t.JobID == "" || t.TaskID == "" {
		_ = m.Term()
		return
	}
	if err := w.publish(ctx, t, 0, protocol.Result{Failure: reason}); err != nil {
		_ = m.Nak()
		return
	}
	_ = m.Term()
}

// publish sends the result of t and waits for the stream's ack. The
// Nats-Msg-Id is the task id: a second result of the task within the
// duplicate window is dropped by the stream itself.
func (w *Worker) publish(ctx context.Context, t protocol.Task, rev int64, r protocol.Result) error {
	r.JobID, r.TaskID, r.Worker, r.Attempt, r.ClaimRevision = t.JobID, t.TaskID, w.cfg.ID, t.Attempt, rev
	r.Lease = int64(w.Lease().ID())
	b, err := r.Encode()
	if err != nil {
		return err
	}
	msg := nats.NewMsg(cluster.ResultSubject(t.JobID))
	msg.Data = b
	msg.Header.Set(jetstream.MsgIDHeader, cluster.ResultMsgID(t.TaskID))
	msg.Header.Set(protocol.HeaderJob, t.JobID)
	msg.Header.Set(protocol.HeaderTask, t.TaskID)
	msg.Header.Set(protocol.HeaderAttempt, strconv.Itoa(t.Attempt))
	// Tried again until ctx ends: while a stream leader is elected (a node
	// killed, a rolling restart) publishes fail for seconds, and giving up
	// hands back a whole generation to run again. The message id makes a
	// second copy of one that did land a duplicate the stream drops.
	tries := backoff{next: publishRetry, max: publishRetryMax}
	for {
		pctx, cancel := context.WithTimeout(ctx, finishTimeout)
		_, err := w.conn.JS.PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish result of %s: %w", t.TaskID, err)
		}
		w.log.Warn("publish result; trying again", "task", t.TaskID, "err", err, "retry_in", tries.next)
		if !tries.wait(ctx, nil) {
			return fmt.Errorf("publish result of %s: %w", t.TaskID, err)
		}
	}
}

// publishTimeout bounds the tries of publishing one result; publishRetry
// and publishRetryMax space them.
const (
	publishTimeout  = 20 * time.Second
	publishRetry    = 250 * time.Millisecond
	publishRetryMax = 2 * time.Second
)

// keepAlive sends AckProgress every ackWait/3 until the returned stop is
// called, so a long generation is not redelivered by JetStream. The
// goroutine is owned here: stop waits for it.
func (w *Worker) keepAlive(ctx context.Context, m jetstream.Msg, ackWait time.Duration) (stop func()) {
	every := max(ackWait/3, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { cancel(); <-done }
}
