package coordinator

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
)

// rateWindow is how far back a job's tokens/s looks: long enough that
// trajectories finishing in bursts read as a rate, short enough that a
// stalled job drops to 0 within a minute.
const rateWindow = time.Minute

// tokenRate measures a job's written completion tokens per second over
// rateWindow from samples of its running total. Callers hold the job's mu.
type tokenRate struct {
	samples []tokenSample
}

type tokenSample struct {
	at     time.Time
	tokens int64
}

// observe records the total at now and returns the rate over the window:
// tokens written since the oldest sample in it, over the time since then.
func (r *tokenRate) observe(now time.Time, total int64) float64 {
	r.samples = append(r.samples, tokenSample{now, total})
	cut := 0
	for cut < len(r.samples)-1 && now.Sub(r.samples[cut+1].at) >= rateWindow {
		cut++
	}
	r.samples = r.samples[cut:]
	first := r.samples[0]
	dt := now.Sub(first.at).Seconds()
	if dt <= 0 || total < first.tokens {
		return 0
	}
	return float64(total-first.tokens) / dt
}

// maxTxnOps keeps one etcd transaction under etcd's default --max-txn-ops
// (128).
const maxTxnOps = 100

// withRunning splits each unfinished job's not-yet-written tasks into
// Running (a worker holds a claim on them in etcd now) and Queued (the
// rest: waiting in the coordinator or on the TASKS stream), and says why a
// job waits when no live worker serves its model. Any replica answers it:
// the claims and registrations are in etcd. "In flight" alone read 240
// while 16 ran.
func (c *Coordinator) withRunning(ctx context.Context, jobs []Job) error {
	var open []int
	for i := range jobs {
		cn := &jobs[i].Counts
		cn.Running, cn.Queued = 0, 0
		if jobs[i].State.Terminal() {
			cn.TokensPerSec = 0
		} else {
			open = append(open, i)
		}
	}
	if len(open) == 0 {
		return nil
	}
	pools, err := c.livePools(ctx)
	if err != nil {
		return err
	}
	for start := 0; start < len(open); start += maxTxnOps {
		batch := open[start:min(start+maxTxnOps, len(open))]
		ops := make([]clientv3.Op, len(batch))
		for k, i := range batch {
			ops[k] = clientv3.OpGet(cluster.JobClaimsPrefix(jobs[i].ID), clientv3.WithPrefix(), clientv3.WithCountOnly())
		}
		resp, err := c.conn.Etcd.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("count running tasks: %w", err)
		}
		for k, i := range batch {
			j := &jobs[i]
			cn := &j.Counts
			left := max(cn.Tasks-cn.Done-cn.DeadLettered, 0)
			cn.Running = min(int(resp.Responses[k].GetResponseRange().Count), left)
			cn.Queued = left - cn.Running
			j.Waiting = pools.waiting(j.Spec.Model, cn.Queued)
		}
	}
	return nil
}
