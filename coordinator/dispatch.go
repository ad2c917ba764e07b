package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
)

// dispatchBatch is the fewest tasks of one job that go out before fair
// share picks again (when the job and the room have that many): large
// enough to amortise the publish acks, small enough to share.
// maxDispatchBatch is the most: a batch is an eighth of the room, between
// the two. The dispatcher waits for a batch's acks before it picks again,
// so a fixed 64 capped dispatch at 64 tasks per publish round trip: with
// 1,000 workers and the servers on a loaded machine, the pool's stream was
// empty in 91% of the samples while the room was ten times the tasks out.
// Scaling with the room keeps one batch per pick where the room is scarce
// (where fair share matters) and takes large ones where it is not (a large
// fleet, the start of a job); an eighth leaves at least eight picks to
// share the room between jobs.
const (
	dispatchBatch    = 64
	maxDispatchBatch = 4096
)

// batchSize is how many tasks one pick sends, with room free and left tasks
// of the job not yet dispatched.
func batchSize(room, left int) int {
	return min(room, left, max(dispatchBatch, min(maxDispatchBatch, room/8)))
}

// dispatchTick re-runs dispatch when nothing pokes it (an idle fleet).
const dispatchTick = time.Second

// dispatch publishes tasks lazily: while fewer than MaxOutstanding tasks are
// dispatched and unfinished, it picks a job by priority and fair share
// (scheduler.FairShare) and publishes its next batch. The stream is the
// backlog only up to that window, so priorities act on what is not yet out.
//
// Each job's cursor (Counts.Dispatched) only moves after the batch's publish
// acks; a new leader resumes at the last persisted cursor and republishes
// what its predecessor may have sent, which Nats-Msg-Id dedupe drops.
func (c *Coordinator) dispatch(ctx context.Context) error {
	fs := scheduler.NewFairShare()
	t := time.NewTicker(dispatchTick)
	defer t.Stop()
	sweep := func() {
		if c.stack == nil {
			return
		}
		if err := c.sweep(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("sweep own subjects", "err", err)
		}
	}
	for {
		for ctx.Err() == nil {
			sent, err := c.dispatchOnce(ctx, fs)
			if err != nil {
				c.log.Warn("dispatch", "err", err)
				break
			}
			if !sent {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-c.swept:
			sweep()
		case <-t.C:
			sweep()
		}
	}
}

// dispatchOnce publishes one batch; it reports whether it sent anything.
func (c *Coordinator) dispatchOnce(ctx context.Context, fs *scheduler.FairShare) (bool, error) {
	jobs := c.liveJobs()
	shares := make([]scheduler.JobShare, 0, len(jobs))
	byID := make(map[string]*job, len(jobs))
	outstanding := 0
	for _, j := range jobs {
		j.mu.Lock()
		rec := j.rec
		j.mu.Unlock()
		if rec.State.Terminal() {
			continue
		}
		outstanding += rec.Counts.InFlight
		shares = append(shares, scheduler.JobShare{
			ID: rec.ID, Priority: rec.Spec.Priority, Weight: rec.Spec.Weight,
			Backlog: rec.Counts.Tasks - rec.Counts.Dispatched, InFlight: rec.Counts.InFlight,
			MaxInFlight: rec.Spec.MaxInFlight,
		})
		byID[rec.ID] = j
	}
	room := c.outstandingCap(ctx) - outstanding
	var fl *fleet
	if c.stack != nil {
		var err error
		if fl, err = c.fleetView(ctx); err != nil {
			return false, err
		}
		room = min(room, fl.free(c.cfg.AffinityBacklog))
	}
	if room <= 0 {
		return false, nil
	}
	id, ok := fs.Next(shares)
	if !ok {
		return false, nil
	}
	j := byID[id]
	j.mu.Lock()
	from, state := j.rec.Counts.Dispatched, j.rec.State
	n := batchSize(room, j.rec.Counts.Tasks-from)
	if j.rec.Spec.MaxInFlight > 0 {
		n = min(n, j.rec.Spec.MaxInFlight-j.rec.Counts.InFlight)
	}
	msgs := make([]*nats.Msg, 0, max(n, 0))
	for i := from; i < from+n; i++ {
		t := j.task(i, 1)
		subject := cluster.TaskSubject(j.pool(), id)
		if fl != nil {
			subject = c.place(fl, t)
		}
		m, err := taskMsg(t, subject)
		if err != nil {
			j.mu.Unlock()
			return false, err
		}
		msgs = append(msgs, m)
	}
	j.mu.Unlock()
	if state.Terminal() || len(msgs) == 0 {
		return false, nil
	}
	if err := c.publishAll(ctx, msgs); err != nil {
		return false, fmt.Errorf("dispatch job %s tasks %d..%d: %w", id, from, from+n, err)
	}
	j.mu.Lock()
	if j.rec.Counts.Dispatched == from { // a cancel in between leaves it
		j.rec.Counts.Dispatched = from + n
		if j.rec.State == JobQueued {
			j.rec.State = JobRunning
		}
		j.refresh()
	}
	j.mu.Unlock()
	c.metrics.dispatched.Add(float64(n))
	return true, nil
}

// capacityRefresh is how often the dispatcher re-reads the fleet's
// registered capacity when MaxOutstanding follows it: workers come and go
// over minutes, and one read of every registration is not free at a
// thousand workers.
const capacityRefresh = 10 * time.Second

// outstandingCap is the most tasks that may be dispatched and unfinished:
// Config.MaxOutstanding when set, else twice the capacity the live
// workers register (the sessions they admit now), at least
// DefaultMaxOutstanding. A fixed 8,192 starved any fleet of more than
// ~4,000 sessions; the cap must also cover results published and not yet
// written by the intake, which count as outstanding (1.25x the sessions
// starved dispatch behind a few seconds of intake lag at 6,400 sessions,
// 2x did not). It stays a cap, not the whole job: a later job of higher
// priority must not queue behind a backlog already in the stream. A failed
// read keeps the last figure.
func (c *Coordinator) outstandingCap(ctx context.Context) int {
	if !c.autoCap {
		return c.cfg.MaxOutstanding
	}
	if now := time.Now(); now.Sub(c.fleetCapAt) >= capacityRefresh {
		if n, err := c.registeredCapacity(ctx); err != nil {
			c.log.Warn("read fleet capacity", "err", err)
		} else {
			c.fleetCap, c.fleetCapAt = n, now
		}
	}
	return max(c.cfg.MaxOutstanding, 2*c.fleetCap)
}

// registeredCapacity sums the capacity of the registered workers that are
// not draining.
func (c *Coordinator) registeredCapacity(ctx context.Context) (int, error) {
	resp, err := c.conn.Etcd.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("read registrations: %w", err)
	}
	n := 0
	for _, kv := range resp.Kvs {
		var info cluster.WorkerInfo
		if err := json.Unmarshal(kv.Value, &info); err != nil || info.Draining {
			continue
		}
		n += info.Capacity
	}
	return n, nil
}

// taskMsg encodes one task attempt for subject.
func taskMsg(t protocol.Task, subject string) (*nats.Msg, error) {
	b, err := t.Encode()
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subject)
	m.Data = b
	m.Header.Set(jetstream.MsgIDHeader, cluster.TaskMsgID(t.TaskID, t.Attempt))
	m.Header.Set(protocol.HeaderJob, t.JobID)
	m.Header.Set(protocol.HeaderTask, t.TaskID)
	m.Header.Set(protocol.HeaderAttempt, strconv.Itoa(t.Attempt))
	return m, nil
}

// publishAll publishes msgs asynchronously with at most publishWindow
// awaiting acks, and waits for every ack. It keeps the window itself: past
// it, the jetstream client stalls a publish for 200 ms and then fails it
// (ErrTooManyStalledMsgs), and a batch larger than the window against a
// slow server (acks later than that) failed every time after its first
// publishWindow messages, so the cursor never moved and dispatch crawled
// at one window per retry (the pool's stream empty at 1,000 workers).
func (c *Coordinator) publishAll(ctx context.Context, msgs []*nats.Msg) error {
	futs := make([]jetstream.PubAckFuture, 0, len(msgs))
	acked := 0 // futs[:acked] are acked
	awaitOldest := func() error {
		f := futs[acked]
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		acked++
		return nil
	}
	for _, m := range msgs {
		for len(futs)-acked >= publishWindow {
			if err := awaitOldest(); err != nil {
				return err
			}
		}
		f, err := c.js.PublishMsgAsync(m)
		// The window is the client's, shared with other publishes of this
		// coordinator: when they fill it, make room or try again.
		for errors.Is(err, jetstream.ErrTooManyStalledMsgs) && ctx.Err() == nil {
			if acked < len(futs) {
				if err := awaitOldest(); err != nil {
					return err
				}
			}
			f, err = c.js.PublishMsgAsync(m)
		}
		if err != nil {
			return fmt.Errorf("publish %s: %w", m.Subject, err)
		}
		futs = append(futs, f)
	}
	for acked < len(futs) {
		if err := awaitOldest(); err != nil {
			return err
		}
	}
	return nil
}
