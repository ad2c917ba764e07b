package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

// failover is what killWorker measured.
type failover struct {
	victimTasks []string
	// worst is the longest time from the kill to another worker's claim of
	// one of the victim's tasks.
	worst time.Duration
}

// killWorker waits until victim runs tasks that have been checkpointed,
// kills it with SIGKILL and waits until every one of its tasks is claimed
// by another worker, measuring how long that took.
func killWorker(t testing.TB, f *fleet, victim *proc, id string, want int) failover {
	t.Helper()
	var held map[string]int64
	eventually.True(t, jobLimit, "victim holds its tasks", func() bool {
		held = f.claims(id)
		return len(held) >= want
	})
	// Mid-generation: wait for a checkpoint of each task, so the retry has
	// something to resume from.
	kv, err := f.conn.JS.KeyValue(context.Background(), cluster.BucketCheckpoints)
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 30*time.Second, "victim's tasks checkpointed", func() bool {
		for task := range held {
			keys, err := kv.ListKeysFiltered(context.Background(), cluster.CheckpointFilter(task))
			if err != nil {
				return false
			}
			n := 0
			for range keys.Keys() {
				n++
			}
			if n == 0 {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), jobLimit)
	defer cancel()
	resp, err := f.conn.Etcd.Get(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	watch := f.conn.Etcd.Watch(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	killed := time.Now()
	victim.kill()
	out := failover{}
	pending := map[string]bool{}
	for task := range held {
		pending[task] = true
		out.victimTasks = append(out.victimTasks, task)
	}
	for len(pending) > 0 {
		select {
		case wr, ok := <-watch:
			if !ok {
				t.Fatalf("claims watch closed with %d tasks not reclaimed", len(pending))
			}
			for _, ev := range wr.Events {
				if ev.Type != clientv3.EventTypePut {
					continue
				}
				v, err := cluster.DecodeClaim(ev.Kv.Value)
				if err != nil || v.Worker == id || !pending[v.Task] {
					continue
				}
				delete(pending, v.Task)
				out.worst = max(out.worst, time.Since(killed))
			}
		case <-ctx.Done():
			t.Fatalf("%d of the victim's tasks not claimed again within %v", len(pending), jobLimit)
		}
	}
	return out
}

// TestWorkerKill9: a worker killed with SIGKILL mid-generation loses its
// lease; its tasks are claimed by another worker within the lease TTL plus
// a second, resume from their checkpoints, and the job ends with every task
// written exactly once.
func TestWorkerKill9(t *testing.T) {
	path, ps := writeProblems(t, 12, false)
	f := newFleet(t, path)
	c := f.startCoord("coord", 0)
	f.waitLeader(c)
	victim := f.startWorker("victim", 4)
	job := f.submit(c.api, "kill9", 2, "--hints", "paper")
	f.startWorker("survivor", 32)
	unowned := watchUnowned(t, f, job, ps, 2) // from here the fleet can run every task at once
	fo := killWorker(t, f, victim, "victim", 4)
	t.Logf("kill -9 → all %d tasks claimed again after %v (lease TTL %v)", len(fo.victimTasks), fo.worst, leaseTTL)
	limit, why := leaseTTL+time.Second, "lease TTL + 1s"
	if !strictGoals {
		limit, why = limit+goalSlack, why+" + the make-test slack"
	}
	if fo.worst > limit {
		t.Errorf("failover took %v, want <= %s = %v", fo.worst, why, limit)
	}
	j := f.waitJob(job, jobLimit)
	if j.State != coordinator.JobDone {
		t.Fatalf("job ended %s: %s", j.State, j.Error)
	}
	tl := f.count(job, ps, 2)
	checkUnowned(t, unowned)
	if tl.dead != 0 {
		t.Errorf("dead-lettered %d, want 0: %v", tl.dead, tl.deadBy)
	}
	for _, task := range fo.victimTasks {
		l := tl.byTask[task]
		if l.Worker == "victim" || l.Attempt < 2 {
			t.Errorf("task %s written by %s attempt %d, want another worker, attempt >= 2", task, l.Worker, l.Attempt)
		}
	}
	gen := f.engineTokens()
	regen := gen - float64(tl.completion)
	t.Logf("engine generated %.0f tokens, trajectories hold %d (wasted %d): %.0f regenerated (%.1f%%)",
		gen, tl.completion, tl.wasted, regen, 100*regen/float64(tl.completion))
}

// TestPoisonTask: one task fails on every attempt (its prompt is longer
// than the engine's context); it is dead-lettered after the retry budget
// with the reason, and every other task of the job is written.
func TestPoisonTask(t *testing.T) {
	path, ps := writeProblems(t, 10, true)
	f := newFleet(t, path)
	c := f.startCoord("coord", 0) // --max-attempts 3
	f.waitLeader(c)
	f.startWorker("w1", 8)
	f.startWorker("w2", 8)
	job := f.submit(c.api, "poison", 1, "--hints", "none")
	j := f.waitJob(job, jobLimit)
	if j.State != coordinator.JobDone {
		t.Fatalf("job ended %s: %s", j.State, j.Error)
	}
	tl := f.count(job, ps, 1)
	if tl.written != len(ps)-1 || tl.dead != 1 {
		t.Fatalf("written %d, dead %d; want %d and 1", tl.written, tl.dead, len(ps)-1)
	}
	for id, d := range tl.deadBy {
		if !strings.HasSuffix(id, "/poison/0") {
			t.Errorf("dead letter for %s, want only the poison task", id)
		}
		t.Logf("dead letter %s: attempt %d: %s", id, d.Attempt, d.Reason)
		if d.Reason == "" {
			t.Errorf("dead letter %s has no reason", id)
		}
	}
}
