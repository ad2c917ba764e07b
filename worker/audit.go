package worker

import (
	"context"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

// auditEvery is how often a worker compares the claims its lease holds
// with the tasks it runs. A claim is handed back when two audits in a row
// find it without a task, so a claim made a moment before its task is
// recorded as running is never taken for an orphan.
const auditEvery = 30 * time.Second

// auditClaims hands back every claim this worker's lease holds for a task
// it does not run. Nothing should leave one: a task's claim ends with its
// task (released, handed back) or with the lease. But a claim left under a
// live lease holds its task for as long as the worker lives — the requeuer
// acts on claims that end, the reconciler skips claimed tasks — and that
// is how one task stopped a job at 39/40 (a claim whose answer was lost,
// fixed in claim). This is the net under every such path: at most two
// audits after it, the task is handed back and the requeuer republishes it.
func (w *Worker) auditClaims(ctx context.Context) {
	t := time.NewTicker(auditEvery)
	defer t.Stop()
	suspects := map[cluster.HeldClaim]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		suspects = w.auditOnce(ctx, suspects)
	}
}

// auditOnce is one audit: it hands back the claims found without a task
// now that were already in suspects, and returns the claims found without
// a task now.
func (w *Worker) auditOnce(ctx context.Context, suspects map[cluster.HeldClaim]bool) map[cluster.HeldClaim]bool {
	lease := w.Lease()
	actx, cancel := context.WithTimeout(ctx, finishTimeout)
	held, err := lease.Claims(actx)
	cancel()
	if err != nil {
		w.log.Warn("audit claims", "worker", w.cfg.ID, "err", err)
		return suspects // try again next time, suspicions kept
	}
	w.mu.Lock()
	orphans := map[cluster.HeldClaim]bool{}
	for _, c := range held {
		if _, runs := w.inflight[c.Task]; !runs {
			orphans[c] = true
		}
	}
	w.mu.Unlock()
	for c := range orphans {
		if !suspects[c] {
			continue
		}
		log := w.log.With("task", c.Task, "worker", w.cfg.ID)
		log.Warn("claim held for a task this worker does not run; handing it back", "revision", c.Revision)
		w.metrics.orphanClaims.Inc()
		w.handBack(ctx, log, c.Task, c.Revision)
		delete(orphans, c)
	}
	return orphans
}
