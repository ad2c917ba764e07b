package chaos

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/trajectory"
)

// maxUnowned is the longest time any task sat unowned over the chaos runs
// of this process; TestMain prints it as BENCH max_task_unowned_s.
var maxUnowned struct {
	sync.Mutex
	d    time.Duration
	runs int
}

// unownedWatch measures, from etcd, how long each task of a job is neither
// claimed (a claim key) nor done (a done marker) before the job ends: the
// time it waits for nobody. It starts counting when it starts, so a run
// starts it once the fleet can run every task at once (capacity at least
// the job's tasks): from then on a task without owner is one that fell
// between the fleet's mechanisms, or waits for a failover. The watch
// follows etcd through a restart (it resumes at the last revision seen);
// during an outage the tasks without owner keep counting.
type unownedWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	since map[string]time.Time // task → when it became unowned; absent while owned or done
	state map[string]*ownership
	worst time.Duration
	task  string        // the worst one
	raw   time.Duration // the longest with the servers' downtime counted
	down  []window      // when etcd itself was down (servers killed until up again)
}

// window is a stretch of time, [from, to).
type window struct{ from, to time.Time }

type ownership struct{ claimed, done bool }

// watchUnowned starts measuring the tasks of job (problems ps × k).
func watchUnowned(t testing.TB, f *fleet, job string, ps []problem, k int) *unownedWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := &unownedWatch{cancel: cancel, done: make(chan struct{}), since: map[string]time.Time{}, state: map[string]*ownership{}}
	keys := map[string]func(o *ownership, present bool){}
	tasks := map[string]string{}
	for _, p := range ps {
		for s := range k {
			task := trajectory.TaskID(job, p.ID, s)
			u.state[task] = &ownership{}
			keys[cluster.ClaimKey(task)] = func(o *ownership, present bool) { o.claimed = present }
			keys[cluster.DoneKey(task)] = func(o *ownership, present bool) {
				if present {
					o.done = true // the job's end deletes the markers: done stays done
				}
			}
			tasks[cluster.ClaimKey(task)], tasks[cluster.DoneKey(task)] = task, task
		}
	}
	jobKey := cluster.JobKey(job)
	resp, err := f.conn.Etcd.Get(ctx, cluster.KeyPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, kv := range resp.Kvs {
		if set, ok := keys[string(kv.Key)]; ok {
			set(u.state[tasks[string(kv.Key)]], true)
		}
	}
	for task, o := range u.state {
		if !o.claimed && !o.done {
			u.since[task] = now
		}
	}
	rev := resp.Header.Revision
	go func() { // owned: stop waits for it
		defer close(u.done)
		for ctx.Err() == nil {
			for wr := range f.conn.Etcd.Watch(ctx, cluster.KeyPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
				if wr.Err() != nil {
					break
				}
				now := time.Now()
				u.mu.Lock()
				for _, ev := range wr.Events {
					rev = max(rev, ev.Kv.ModRevision)
					if string(ev.Kv.Key) == jobKey && ev.Type == clientv3.EventTypePut && jobEnded(ev.Kv.Value) {
						// The job's terminal record deletes its claims and
						// done markers in the same transaction: every task
						// is over, whatever those deletions read as. A
						// claim whose release was still on its way read as
						// unowned until the watch stopped.
						for task, o := range u.state {
							o.done = true
							u.settle(task, o, now)
						}
						continue
					}
					set, ok := keys[string(ev.Kv.Key)]
					if !ok {
						continue
					}
					task := tasks[string(ev.Kv.Key)]
					o := u.state[task]
					set(o, ev.Type == clientv3.EventTypePut)
					u.settle(task, o, now)
				}
				u.mu.Unlock()
			}
			select { // etcd restarting: watch again from the last revision seen
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { u.stop() })
	return u
}

// jobEnded reports whether a job record says the job is over.
func jobEnded(record []byte) bool {
	var j coordinator.Job
	return json.Unmarshal(record, &j) == nil && j.State.Terminal()
}

// settle starts or ends task's unowned interval; callers hold mu.
func (u *unownedWatch) settle(task string, o *ownership, now time.Time) {
	since, waiting := u.since[task]
	switch {
	case (o.claimed || o.done) && waiting:
		u.end(task, since, now)
		delete(u.since, task)
	case !o.claimed && !o.done && !waiting:
		u.since[task] = now
	}
}

// end closes task's unowned interval [since, now); callers hold mu.
func (u *unownedWatch) end(task string, since, now time.Time) {
	d := now.Sub(since)
	u.raw = max(u.raw, d)
	for _, w := range u.down {
		if from, to := maxTime(since, w.from), minTime(now, w.to); to.After(from) {
			d -= to.Sub(from)
		}
	}
	if d > u.worst {
		u.worst, u.task = d, task
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// stop ends the measurement (a task still unowned counts until now), adds
// it to the process's figure and returns the run's longest (the servers'
// downtime left out), its task, and the longest with the downtime counted.
func (u *unownedWatch) stop() (time.Duration, string, time.Duration) {
	u.cancel()
	<-u.done
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state == nil {
		return u.worst, u.task, u.raw
	}
	now := time.Now()
	for task, since := range u.since {
		u.end(task, since, now)
	}
	u.state, u.since = nil, nil
	maxUnowned.Lock()
	maxUnowned.d = max(maxUnowned.d, u.worst)
	maxUnowned.runs++
	maxUnowned.Unlock()
	return u.worst, u.task, u.raw
}

// goalSlack is what a timing goal gets on top outside -tags chaos
// (strictGoals): far more than a loaded machine's scheduling delay, far
// less than the AckWait backstop a broken failover would fall back to.
const goalSlack = 15 * time.Second

// unownedGoal is the longest a task may sit neither claimed nor done:
// the workers' lease TTL plus two seconds.
const unownedGoal = leaseTTL + 2*time.Second

// checkUnowned stops u, logs the run's longest unowned task and fails the
// test when that is over unownedGoal. The time etcd itself was down
// (serversDown) is left out: nothing can be claimed then, whatever the
// fleet does; the log shows the figure with it too.
func checkUnowned(t testing.TB, u *unownedWatch) {
	t.Helper()
	checkUnownedWithin(t, u, unownedGoal, "lease TTL + 2s")
}

// checkUnownedWithin is checkUnowned with another bound, named by why.
func checkUnownedWithin(t testing.TB, u *unownedWatch, bound time.Duration, why string) {
	t.Helper()
	worst, task, raw := u.stop()
	if !strictGoals {
		bound, why = bound+goalSlack, why+" + the make-test slack"
	}
	t.Logf("longest a task sat neither claimed nor done: %v (%s), %v with the servers' downtime; goal <= %s = %v",
		worst.Round(time.Millisecond), task, raw.Round(time.Millisecond), why, bound)
	if worst > bound {
		t.Errorf("task %s sat unowned %v, want <= %s = %v", task, worst, why, bound)
	}
}
