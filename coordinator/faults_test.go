package coordinator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// TestWorkerCrash: a worker dies mid-generation (its connection closes, its
// lease is neither revoked nor kept alive). Its claims go with the lease,
// the requeuer republishes them with attempt 2 within TTL + 1 s, another
// worker resumes them from their checkpoints, and nothing is lost or doubled.
func TestWorkerCrash(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(6)
	eng := worker.NewEngine(startSim(t, ps, 4), nil) // ~0.5 s per trajectory
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	claims := watchClaims(t, env.Conn.Etcd)
	w1 := startWorker(t, env, "w1", []worker.Engine{eng}, func(c *worker.Config) { c.Concurrency = 6 })

	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "crash", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
		t.Fatal(err)
	}
	n := 0
	nextClaim(t, claims, "w1 holds 3 tasks", func(e claimEvent) bool {
		if !e.deleted && e.claim.Worker == "w1" {
			n++
		}
		return n == 3
	})
	// Let a checkpoint land, observed in the bucket, not by sleeping.
	kv, err := env.Conn.JS.KeyValue(context.Background(), cluster.BucketCheckpoints)
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, waitLimit, "a checkpoint of w1", func() bool {
		keys, err := kv.ListKeys(context.Background())
		if err != nil {
			return false
		}
		got := false
		for range keys.Keys() {
			got = true
		}
		return got
	})

	crash := time.Now()
	_ = w1.conn.Close() // kill -9: no release, no revoke, no keep-alive
	w1.cancel()
	<-w1.w.Done()
	expired := waitKeyGone(t, env.Conn.Etcd, cluster.WorkerKey("w1"))
	startWorker(t, env, "w2", []worker.Engine{eng}, nil)
	restart := nextClaim(t, claims, "a task restarts with attempt 2", func(e claimEvent) bool {
		return !e.deleted && e.claim.Worker == "w2" && e.claim.Attempt == 2
	})
	t.Logf("lease TTL 2s: crash→expiry %v, expiry→restart %v, crash→restart %v",
		expired.Sub(crash).Round(time.Millisecond), restart.at.Sub(expired).Round(time.Millisecond),
		restart.at.Sub(crash).Round(time.Millisecond))
	// The restart must come from the lease's expiry, not from JetStream's
	// AckWait backstop (30 min): the bound is far above the TTL so that a
	// loaded machine cannot fail it, and far below AckWait so that a
	// requeue that missed the expiry still does. How fast it is, is
	// measured by make chaos (BENCH max_task_unowned_s), not asserted here.
	if d := restart.at.Sub(crash); d > 2*time.Second+30*time.Second {
		t.Errorf("restart %v after the crash; want it on the lease's expiry (TTL 2 s), long before AckWait", d)
	}

	got := waitJob(t, env.Conn.Etcd, "crash", terminal)
	if got.State != coordinator.JobDone {
		t.Fatalf("state %s", got.State)
	}
	tl := checkExactlyOnce(t, dir, "crash", ps, 1)
	if tl.dead != 0 {
		t.Fatalf("dead-lettered %d, want 0", tl.dead)
	}
}

// TestFencedLateResult: a result for a task already written, from a worker
// whose claim is long gone, is dropped: by the stream when it carries the
// task's Nats-Msg-Id, by the intake's done set when it does not (a copy
// older than the duplicate window).
func TestFencedLateResult(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(3)
	eng := worker.NewEngine(startSim(t, ps, 200), nil)
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	startWorker(t, env, "w1", []worker.Engine{eng}, nil)
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "late", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, env.Conn.Etcd, "late", terminal)

	task := trajectory.TaskID("late", ps[1].ID, 0)
	stale := protocol.Result{JobID: "late", TaskID: task, Worker: "ghost", Lease: 12345, ClaimRevision: 1, Attempt: 1,
		Trajectory: &trajectory.Trajectory{TaskID: task, JobID: "late", Text: "stale", Worker: "ghost", Attempt: 1}}
	body, _ := json.Marshal(stale)
	for _, withID := range []bool{true, false} {
		m := nats.NewMsg(cluster.ResultSubject("late"))
		m.Data = body
		if withID {
			m.Header.Set(jetstream.MsgIDHeader, cluster.ResultMsgID(task))
		}
		ack, err := env.Conn.JS.PublishMsg(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate != withID {
			t.Fatalf("with msg id %v: duplicate = %v", withID, ack.Duplicate)
		}
	}
	eventually.True(t, waitLimit, "the intake drops the copy", func() bool {
		return metric(t, r, `hintfleet_results_dropped_total{reason="job_not_live"}`) >= 1 ||
			metric(t, r, `hintfleet_results_dropped_total{reason="duplicate"}`) >= 1
	})
	tl := checkExactlyOnce(t, dir, "late", ps, 1)
	if tl.written != 3 {
		t.Fatalf("written %d, want 3", tl.written)
	}
}

// TestPoisonTask: a problem the engine always fails on is dead-lettered
// after the retry budget; the rest of the job finishes.
func TestPoisonTask(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(8)
	eng := faultEngine{Engine: worker.NewEngine(startSim(t, ps, 200), nil), poison: ps[3].Question}
	r := startReplica(t, env, dir, coordinator.Config{MaxAttempts: 3})
	waitLeader(t, r)
	startWorker(t, env, "w1", []worker.Engine{eng}, nil)
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "poison", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
		t.Fatal(err)
	}
	got := waitJob(t, env.Conn.Etcd, "poison", terminal)
	if got.State != coordinator.JobDone || got.Counts.DeadLettered != 1 || got.Counts.Done != 7 {
		t.Fatalf("job %s %+v, want done with 7 written and 1 dead-lettered", got.State, got.Counts)
	}
	tl := checkExactlyOnce(t, dir, "poison", ps, 1)
	if k := tl.byTask[trajectory.TaskID("poison", ps[3].ID, 0)]; k != "dead" {
		t.Fatalf("poison task ended as %q, want dead", k)
	}
	rc, err := r.client.DeadLetters(context.Background(), "poison")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if !strings.Contains(string(b), "retry budget spent: attempt 3 of 3") {
		t.Fatalf("dead letter reason: %s", b)
	}
}

// TestCoordinatorFailover: the leader stops mid-job; the standby takes over
// (same data dir) and the job completes with no loss and no duplicate.
func TestCoordinatorFailover(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(20)
	eng := worker.NewEngine(startSim(t, ps, 20), nil)
	r1 := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r1)
	r2 := startReplica(t, env, dir, coordinator.Config{})
	if r2.c.IsLeader() {
		t.Fatal("two leaders")
	}
	// A write to the standby is refused with the leader's address.
	_, err := submitRaw(t, r2.srv.URL, `{"model":"x","problems_jsonl":"{}"}`)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("standby submit: %v, want 503", err)
	}
	startWorker(t, env, "w1", []worker.Engine{eng}, nil)
	startWorker(t, env, "w2", []worker.Engine{eng}, nil)
	if _, err := r2.client.Submit(context.Background(), coordinator.JobSpec{ID: "failover", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2}); err != nil {
		t.Fatalf("submit through the standby (client follows the leader): %v", err)
	}
	waitJob(t, env.Conn.Etcd, "failover", func(j coordinator.Job) bool { return j.Counts.Done >= 8 })
	stopped := time.Now()
	r1.stop(t)
	waitLeader(t, r2)
	t.Logf("failover: standby leads %v after the leader stopped", time.Since(stopped).Round(time.Millisecond))
	got := waitJob(t, env.Conn.Etcd, "failover", terminal)
	if got.State != coordinator.JobDone {
		t.Fatalf("state %s", got.State)
	}
	checkExactlyOnce(t, dir, "failover", ps, 2)
}

// TestDrain: a draining worker finishes what it holds, releases every
// claim and revokes its lease; nothing is lost.
func TestDrain(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(8)
	eng := worker.NewEngine(startSim(t, ps, 8), nil)
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	claims := watchClaims(t, env.Conn.Etcd)
	w1 := startWorker(t, env, "w1", []worker.Engine{eng}, func(c *worker.Config) { c.Concurrency = 3 })
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "drain", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
		t.Fatal(err)
	}
	n := 0
	nextClaim(t, claims, "w1 holds 3 tasks", func(e claimEvent) bool {
		if !e.deleted && e.claim.Worker == "w1" {
			n++
		}
		return n == 3
	})
	held := w1.w.InFlight()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w1.w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-w1.errc; err != nil {
		t.Fatalf("Run after drain: %v", err)
	}
	resp, err := env.Conn.Etcd.Get(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if c, _ := cluster.DecodeClaim(kv.Value); c.Worker == "w1" {
			t.Fatalf("claim of w1 left after drain: %s", kv.Key)
		}
	}
	if resp, _ := env.Conn.Etcd.Get(ctx, cluster.WorkerKey("w1")); len(resp.Kvs) != 0 {
		t.Fatal("w1 still registered after drain")
	}
	// The tasks w1 held were finished, not handed back.
	done, err := env.Conn.Etcd.Get(ctx, cluster.DonePrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	doneKeys := map[string]bool{}
	for _, kv := range done.Kvs {
		doneKeys[string(kv.Key)] = true
	}
	for _, task := range held {
		if !doneKeys[cluster.DoneKey(task)] {
			t.Errorf("task %s held at drain is not done", task)
		}
	}
	startWorker(t, env, "w2", []worker.Engine{eng}, nil)
	waitJob(t, env.Conn.Etcd, "drain", terminal)
	checkExactlyOnce(t, dir, "drain", ps, 1)
}

// metric reads one series from the replica's /metrics; 0 when absent.
func metric(t *testing.T, r *replica, series string) float64 {
	t.Helper()
	resp, err := r.srv.Client().Get(r.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			_, _ = fmtSscan(v, &f)
			return f
		}
	}
	return 0
}

// submitRaw posts body as a job spec and returns the answer's status text.
func submitRaw(t *testing.T, base, body string) (string, error) {
	t.Helper()
	resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var ae struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &ae) == nil {
			b = []byte(ae.Error)
		}
		return string(b), &httpError{status: resp.Status, body: string(b), leader: resp.Header.Get(coordinator.HeaderLeader)}
	}
	return string(b), nil
}

type httpError struct{ status, body, leader string }

func (e *httpError) Error() string { return e.status + ": " + e.body + " leader=" + e.leader }
