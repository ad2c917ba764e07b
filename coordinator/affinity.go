package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
)

// DefaultAffinityBacklog is how many tasks beyond its capacity the
// dispatcher may queue on a worker's own subject for prefix-cache affinity:
// enough for the rest of a problem's samples to wait for the engine that
// holds its prefix, few enough that a slow worker cannot hoard work.
const DefaultAffinityBacklog = 2

// moveBatch is how many messages one fetch of a backlog move takes.
const moveBatch = 256

// fleet is the dispatcher's view of the workers, for placement: their
// registrations, and as load the claims each holds plus the tasks waiting
// on its own subject (routed but not yet pulled), so a burst does not
// overfill one worker.
type fleet struct {
	workers []scheduler.Worker
	byID    map[string]int
	shared  int // tasks waiting on the pools' shared subjects
}

// fleetView reads the registrations and claims in one etcd transaction and
// each worker's own backlog from its consumer.
func (c *Coordinator) fleetView(ctx context.Context) (*fleet, error) {
	resp, err := c.conn.Etcd.Txn(ctx).Then(
		clientv3.OpGet(cluster.WorkersPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(cluster.ClaimsPrefix, clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("read fleet: %w", err)
	}
	claims := map[string]int{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if cv, err := cluster.DecodeClaim(kv.Value); err == nil {
			claims[cv.Worker]++
		}
	}
	f := &fleet{byID: map[string]int{}}
	pools := map[string]int{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var info cluster.WorkerInfo
		if err := json.Unmarshal(kv.Value, &info); err != nil {
			continue
		}
		pending, err := c.backlog(ctx, cluster.WorkerConsumer(info.Pool, info.ID))
		if err != nil {
			return nil, err
		}
		if _, seen := pools[info.Pool]; !seen {
			if pools[info.Pool], err = c.backlog(ctx, cluster.PoolConsumer(info.Pool)); err != nil {
				return nil, err
			}
			f.shared += pools[info.Pool]
		}
		f.byID[info.ID] = len(f.workers)
		f.workers = append(f.workers, scheduler.Worker{
			ID: info.ID, Pool: info.Pool, Model: info.Model, Alive: true,
			Draining: info.Draining, InFlight: claims[info.ID] + pending, Capacity: info.Capacity,
		})
	}
	return f, nil
}

// backlog is the number of tasks waiting, not yet delivered, on consumer.
func (c *Coordinator) backlog(ctx context.Context, consumer string) (int, error) {
	cons, err := c.js.Consumer(ctx, cluster.StreamTasks, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read backlog of %s: %w", consumer, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read backlog of %s: %w", consumer, err)
	}
	return int(info.NumPending), nil
}

// free is the room the fleet has for new tasks: the capacity of the
// workers that take work, less what they hold, plus the affinity backlog,
// less what already waits on the shared subjects.
// With affinity, dispatch is held to it, so that tasks are placed when a
// worker can take them rather than all at once onto the shared subject.
func (f *fleet) free(backlog int) int {
	n := 0
	for _, w := range f.workers {
		if !w.Draining {
			n += max(w.Capacity+backlog-w.InFlight, 0)
		}
	}
	return max(n-f.shared, 0)
}

// place routes t: the affine worker's own subject while it is live, not
// draining and within its capacity plus backlog (and within the slack of
// the least loaded); the shared subject otherwise. A placement counts
// against the worker at once, for the rest of the batch.
func (c *Coordinator) place(f *fleet, t protocol.Task) string {
	st := scheduler.Task{ID: t.TaskID, JobID: t.JobID, ProblemID: t.Problem.ID, Pool: t.Pool, Attempt: t.Attempt}
	p := c.stack.Place(st, f.workers)
	if p.Affine {
		f.workers[f.byID[p.Worker]].InFlight++
		c.metrics.affine.Inc()
	}
	return placedSubject(st, p)
}

// placedSubject is where to publish t given its placement: the affine
// worker's own subject, or the pool's shared subject that every worker of
// the pool pulls. The scheduler decides; the subjects are the coordinator's.
func placedSubject(t scheduler.Task, p scheduler.Placement) string {
	if p.Affine && p.Worker != "" {
		return cluster.WorkerTaskSubject(t.Pool, p.Worker, t.JobID)
	}
	return cluster.TaskSubject(t.Pool, t.JobID)
}

// hasRoom is the capacity filter of the affinity stack: a worker may hold
// up to backlog tasks beyond its capacity, queued on its own subject.
func hasRoom(backlog int) scheduler.Filter {
	return scheduler.FilterFunc(func(_ scheduler.Task, w scheduler.Worker) (bool, string) {
		return w.InFlight < w.Capacity+backlog, "at capacity"
	})
}

func newAffinityStack(slack, backlog int) (*scheduler.Stack, error) {
	return scheduler.NewStack(
		scheduler.WithFilters(scheduler.Alive, scheduler.PoolMatch, scheduler.EngineMatch, scheduler.NotDraining, hasRoom(backlog)),
		scheduler.WithAffinitySlack(slack),
	)
}

// sweep moves the tasks waiting on the own subject of a worker that cannot
// run them — gone (no registration), draining or unhealthy — to their
// pool's shared subject. For a gone worker it also recreates the consumer
// first, so that messages it had fetched but not claimed are delivered
// again and moved too (a claimed copy is requeued by the requeuer as well;
// the claim fence drops the loser). It is the Planner.WorkerGone of the
// affinity design, run also every dispatch tick, which covers a task
// routed to a worker in the instant it died.
func (c *Coordinator) sweep(ctx context.Context) error {
	resp, err := c.conn.Etcd.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("sweep: read workers: %w", err)
	}
	live := map[string]cluster.WorkerInfo{}
	for _, kv := range resp.Kvs {
		var info cluster.WorkerInfo
		if json.Unmarshal(kv.Value, &info) == nil {
			live[cluster.WorkerConsumer(info.Pool, info.ID)] = info
		}
	}
	st, err := c.js.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	lister := st.ListConsumers(ctx)
	var errs []error
	for ci := range lister.Info() { // read to the end: the lister's goroutine sends until then
		if !isWorkerConsumer(ci.Name) {
			continue
		}
		info, alive := live[ci.Name]
		if alive && !info.Draining {
			continue
		}
		if !alive && ci.NumAckPending > 0 {
			// Redeliver what the dead worker fetched and did not finish.
			if err := c.recreate(ctx, ci); err != nil {
				errs = append(errs, err)
				continue
			}
		} else if ci.NumPending == 0 {
			continue
		}
		if err := c.moveBacklog(ctx, ci.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		errs = append(errs, fmt.Errorf("sweep: list consumers: %w", err))
	}
	return errors.Join(errs...)
}

// isWorkerConsumer tells a worker's own consumer ("worker-<pool>-<id>",
// cluster.WorkerConsumer) from the pools' shared ones ("workers-<pool>")
// and the coordinator's.
func isWorkerConsumer(name string) bool { return strings.HasPrefix(name, "worker-") }

func (c *Coordinator) recreate(ctx context.Context, ci *jetstream.ConsumerInfo) error {
	if err := c.js.DeleteConsumer(ctx, cluster.StreamTasks, ci.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("sweep: reset consumer %s: %w", ci.Name, err)
	}
	if _, err := c.js.CreateOrUpdateConsumer(ctx, cluster.StreamTasks, ci.Config); err != nil {
		return fmt.Errorf("sweep: reset consumer %s: %w", ci.Name, err)
	}
	return nil
}

// moveBacklog republishes every task waiting on consumer to its pool's
// shared subject (Nats-Msg-Id cluster.MovedTaskMsgID) and acks the
// original, which removes it from the work-queue stream. Publish before
// ack: a crash in between leaves two copies of one attempt, and the claim
// fence runs only one.
func (c *Coordinator) moveBacklog(ctx context.Context, consumer string) error {
	cons, err := c.js.Consumer(ctx, cluster.StreamTasks, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("move backlog of %s: %w", consumer, err)
	}
	for {
		batch, err := cons.FetchNoWait(moveBatch)
		if err != nil {
			return fmt.Errorf("move backlog of %s: %w", consumer, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if err := c.moveOne(ctx, m); err != nil {
				_ = m.Nak()
				return fmt.Errorf("move backlog of %s: %w", consumer, err)
			}
		}
		if n == 0 {
			return nil
		}
	}
}

func (c *Coordinator) moveOne(ctx context.Context, m jetstream.Msg) error {
	var t protocol.Task
	if err := json.Unmarshal(m.Data(), &t); err != nil || t.TaskID == "" {
		// Unparsable: let a worker of the pool refuse it with the reason.
		h := m.Headers()
		t.JobID, t.TaskID = h.Get(protocol.HeaderJob), h.Get(protocol.HeaderTask)
		t.Attempt, _ = strconv.Atoi(h.Get(protocol.HeaderAttempt))
	}
	if t.Pool == "" || t.JobID == "" {
		return m.Term() // nowhere to move it; nothing a worker could run
	}
	out := nats.NewMsg(cluster.TaskSubject(t.Pool, t.JobID))
	out.Data = m.Data()
	for k, v := range m.Headers() {
		out.Header[k] = v
	}
	out.Header.Set(jetstream.MsgIDHeader, cluster.MovedTaskMsgID(t.TaskID, t.Attempt))
	if _, err := c.js.PublishMsg(ctx, out); err != nil {
		return fmt.Errorf("move task %s: %w", t.TaskID, err)
	}
	c.metrics.moved.Inc()
	return m.Ack()
}
