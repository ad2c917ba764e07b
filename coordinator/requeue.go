package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/scheduler"
)

// errWatchCompacted: the requeuer's watch was to resume from a revision etcd
// has compacted. What was deleted in between is not seen; JetStream's
// AckWait covers it.
var errWatchCompacted = errors.New("requeuer watch: start revision compacted")

// requeue runs the scheduler's Requeuer on the etcd watch of claims and
// workers, resuming after the revision the previous leader recorded so no
// claim deletion between leaders is missed. handled is the last revision
// fully handled, which persist records for the next leader. A planner or
// watch error is retried by watching again from handled, so the event whose
// handling failed comes again; only a compacted start revision restarts the
// watch from now.
func (c *Coordinator) requeue(ctx context.Context, rq *scheduler.Requeuer, handled *atomic.Int64) error {
	start, err := c.requeuerStart(ctx)
	if err != nil {
		return err
	}
	handled.Store(start - 1)
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		err := rq.Run(wctx, watchClaims(wctx, c.conn.Etcd, handled, c.log))
		cancel() // ends the watch goroutines the client started
		switch {
		case err == nil:
			return nil
		case isFenced(err):
			return err // the term is over
		case errors.Is(err, errWatchCompacted):
			c.log.Warn("requeuer watch compacted; restarting from now", "err", err)
			resp, gerr := c.conn.Etcd.Get(ctx, cluster.RequeuerRevisionKey)
			if gerr != nil {
				return fmt.Errorf("restart requeuer: %w", gerr)
			}
			handled.Store(resp.Header.Revision)
		default:
			c.log.Warn("requeuer", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(campaignBackoff):
			}
		}
	}
	return nil
}

func (c *Coordinator) requeuerStart(ctx context.Context) (int64, error) {
	resp, err := c.conn.Etcd.Get(ctx, cluster.RequeuerRevisionKey)
	if err != nil {
		return 0, fmt.Errorf("read requeuer revision: %w", err)
	}
	if len(resp.Kvs) == 1 {
		if rev, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64); err == nil && rev > 0 {
			return rev + 1, nil
		}
	}
	return resp.Header.Revision + 1, nil
}

// claimWatch is the scheduler.Events of the requeuer: deletions under
// cluster.KeyPrefix, with their previous values, turned into claim-ended and
// worker-gone events. It advances handled as events are handled (see
// scheduler.Events.Next): events come in revision order and one revision
// (one transaction) may hold several, so a revision is fully handled only
// once an event of a later one begins, or the last event of a watch
// response was handled.
type claimWatch struct {
	cli     *clientv3.Client
	log     *slog.Logger
	wch     clientv3.WatchChan
	handled *atomic.Int64
	batch   []*clientv3.Event
	last    int64 // revision of the event Next returned last; 0 when acknowledged
}

// watchClaims starts watching after handled; the watch ends with ctx.
func watchClaims(ctx context.Context, cli *clientv3.Client, handled *atomic.Int64, log *slog.Logger) *claimWatch {
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithFilterPut()}
	if h := handled.Load(); h > 0 {
		opts = append(opts, clientv3.WithRev(h+1))
	}
	return &claimWatch{
		cli:     cli,
		log:     log,
		wch:     cli.Watch(clientv3.WithRequireLeader(ctx), cluster.KeyPrefix, opts...),
		handled: handled,
	}
}

func (w *claimWatch) advance(rev int64) {
	if rev > w.handled.Load() {
		w.handled.Store(rev)
	}
}

// Next implements scheduler.Events.
func (w *claimWatch) Next(ctx context.Context) (scheduler.Event, error) {
	for {
		if w.last > 0 && len(w.batch) == 0 {
			w.advance(w.last) // the response's last event: its revision is done
		}
		w.last = 0
		if len(w.batch) == 0 {
			select {
			case <-ctx.Done():
				return scheduler.Event{}, ctx.Err()
			case wr, ok := <-w.wch:
				switch {
				case !ok:
					return scheduler.Event{}, errors.New("requeuer watch closed")
				case wr.CompactRevision != 0:
					return scheduler.Event{}, fmt.Errorf("%w (compacted at %d)", errWatchCompacted, wr.CompactRevision)
				case wr.Err() != nil:
					return scheduler.Event{}, fmt.Errorf("requeuer watch: %w", wr.Err())
				}
				w.batch = wr.Events
			}
			continue
		}
		ev := w.batch[0]
		w.batch = w.batch[1:]
		w.advance(ev.Kv.ModRevision - 1)
		w.last = ev.Kv.ModRevision
		if e, ok := w.event(ctx, ev); ok {
			return e, nil
		}
	}
}

// event turns one deletion into an Event; false for a deletion that is
// none of the requeuer's business, or whose value does not parse.
func (w *claimWatch) event(ctx context.Context, ev *clientv3.Event) (scheduler.Event, bool) {
	key := string(ev.Kv.Key)
	if ev.PrevKv == nil {
		return scheduler.Event{}, false // deleted before we watched, or a delete of nothing
	}
	switch {
	case strings.HasPrefix(key, cluster.WorkersPrefix):
		var info cluster.WorkerInfo
		if err := json.Unmarshal(ev.PrevKv.Value, &info); err != nil {
			w.log.WarnContext(ctx, "bad worker registration", "key", key, "err", err)
			return scheduler.Event{}, false
		}
		return scheduler.Event{Kind: scheduler.EventWorkerGone, Worker: info.ID}, true
	case strings.HasPrefix(key, cluster.ClaimsPrefix):
		cv, err := cluster.DecodeClaim(ev.PrevKv.Value)
		if err != nil {
			w.log.WarnContext(ctx, "bad claim", "key", key, "err", err)
			return scheduler.Event{}, false
		}
		return scheduler.Event{
			Kind: scheduler.EventClaimEnded,
			Claim: scheduler.Claim{
				Task: cv.Task, Job: cv.Job, Pool: cv.Pool, Worker: cv.Worker,
				Attempt: cv.Attempt, AckSubject: cv.AckSubject,
			},
			LeaseExpired: w.leaseExpired(ctx, ev.PrevKv.Lease),
		}, true
	}
	return scheduler.Event{}, false
}

// leaseExpired tells a claim whose lease is gone (the worker died or was
// cut off) from one the worker released (a hand-back on drain). An error
// reads as released: the decision is the same, only its reason differs.
func (w *claimWatch) leaseExpired(ctx context.Context, lease int64) bool {
	if lease == 0 {
		return false
	}
	ttl, err := w.cli.TimeToLive(ctx, clientv3.LeaseID(lease))
	return err == nil && ttl.TTL == -1
}

// etcdLedger is the requeuer's scheduler.Ledger in etcd: the done markers
// cluster.Lease.Release writes, and the attempts keys that workers' claims
// compare against, so a recorded attempt fences off older copies at once.
type etcdLedger struct {
	cli   *clientv3.Client
	fence *term // the leader's term: a record is a leader write; nil in tests
}

// Done implements scheduler.Ledger.
func (e etcdLedger) Done(ctx context.Context, task string) (bool, error) {
	resp, err := e.cli.Get(ctx, cluster.DoneKey(task), clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("read done marker of %s: %w", task, err)
	}
	return resp.Count > 0, nil
}

// Attempt implements scheduler.Ledger; the version is the key's mod
// revision (0 when absent, which etcd's compare treats alike).
func (e etcdLedger) Attempt(ctx context.Context, task string) (int, int64, error) {
	resp, err := e.cli.Get(ctx, cluster.AttemptsKey(task))
	if err != nil {
		return 0, 0, fmt.Errorf("read attempts of %s: %w", task, err)
	}
	if len(resp.Kvs) != 1 {
		return 0, 0, nil
	}
	n, _ := strconv.Atoi(string(resp.Kvs[0].Value))
	return n, resp.Kvs[0].ModRevision, nil
}

// Record implements scheduler.Ledger.
func (e etcdLedger) Record(ctx context.Context, task string, attempt int, version int64, deadLetter bool) error {
	ak := cluster.AttemptsKey(task)
	then := []clientv3.Op{clientv3.OpPut(ak, strconv.Itoa(attempt))}
	if deadLetter {
		then = append(then, clientv3.OpPut(cluster.DoneKey(task), "dead-letter"))
	}
	if _, err := fencedTxn(ctx, e.cli, e.fence, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ak), "=", version)}, then...); err != nil {
		return fmt.Errorf("record attempt %d of %s: %w", attempt, task, err)
	}
	return nil
}
