package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// A rolling upgrade runs two builds of hintfleet side by side. Building an
// old commit in a test is slow and ties the test to the history, so the old
// build is emulated at the message layer: oldWorker speaks the wire
// contract as the first build did (protocol.Task and protocol.Result as
// JSON, no "v" field, none of the fields added since) through the same
// fences a worker uses (lease, claim, release with done), and reads a task
// message by only the fields it knew. The new build is the real worker.

// oldTask is a task message as the first build read it: only these fields.
type oldTask struct {
	JobID   string             `json:"job_id"`
	TaskID  string             `json:"task_id"`
	Pool    string             `json:"pool"`
	Sample  int                `json:"sample"`
	Attempt int                `json:"attempt"`
	Problem trajectory.Problem `json:"problem"`
}

// oldResult is a result message as the first build wrote it: no "v".
type oldResult struct {
	JobID         string          `json:"job_id"`
	TaskID        string          `json:"task_id"`
	Worker        string          `json:"worker"`
	Lease         int64           `json:"lease"`
	ClaimRevision int64           `json:"claim_revision"`
	Attempt       int             `json:"attempt"`
	Trajectory    json.RawMessage `json:"trajectory"`
}

// runOldWorker pulls tasks from the pool's shared consumer one at a time
// until ctx ends, and answers each with a one-step trajectory in the old
// format. It registers under its own lease, claims before it publishes and
// releases with done after the publish is acked, as a worker must.
func runOldWorker(ctx context.Context, t testing.TB, conn *cluster.Conn, id string) {
	lease, err := cluster.NewLease(ctx, conn.Etcd, cluster.WithLeaseTTL(leaseTTL))
	if err != nil {
		t.Errorf("old worker lease: %v", err)
		return
	}
	defer lease.Close(context.WithoutCancel(ctx)) //nolint:errcheck // test teardown
	if err := lease.Register(ctx, cluster.WorkerInfo{ID: id, Pool: fleettest.Model, Model: fleettest.Model, Capacity: 1}); err != nil {
		t.Errorf("old worker register: %v", err)
		return
	}
	cons, err := cluster.EnsurePoolConsumer(ctx, conn.JS, fleettest.Model, cluster.ConsumerOptions{})
	if err != nil {
		t.Errorf("old worker consumer: %v", err)
		return
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			oldHandle(ctx, conn, lease, id, m)
		}
	}
}

func oldHandle(ctx context.Context, conn *cluster.Conn, lease *cluster.Lease, id string, m jetstream.Msg) {
	var task oldTask
	if err := json.Unmarshal(m.Data(), &task); err != nil {
		_ = m.Term()
		return
	}
	rev, err := lease.Claim(ctx, task.TaskID, cluster.ClaimValue{Worker: id, Attempt: task.Attempt, Job: task.JobID, Pool: task.Pool, AckSubject: m.Reply()})
	switch {
	case errors.Is(err, cluster.ErrDone), errors.Is(err, cluster.ErrStaleAttempt), errors.Is(err, cluster.ErrClaimed):
		_ = m.Ack()
		return
	case err != nil:
		_ = m.Nak()
		return
	}
	text := "The old build answers " + task.Problem.Answer + "."
	traj, _ := json.Marshal(map[string]any{
		"task_id": task.TaskID, "job_id": task.JobID, "problem_id": task.Problem.ID, "sample": task.Sample,
		"prompt": task.Problem.Question, "text": text, "steps": []map[string]string{{"kind": "gen", "text": text}},
		"tool_calls": 0, "hints": 0, "answer": task.Problem.Answer, "correct": nil, "finish_reason": "stop",
		"tokens": map[string]int{"prompt": 10, "completion": 7}, "engine": map[string]string{"model": fleettest.Model},
		"worker": id, "attempt": task.Attempt,
	})
	body, _ := json.Marshal(oldResult{JobID: task.JobID, TaskID: task.TaskID, Worker: id, Lease: int64(lease.ID()),
		ClaimRevision: rev, Attempt: task.Attempt, Trajectory: traj})
	msg := nats.NewMsg(cluster.ResultSubject(task.JobID))
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, cluster.ResultMsgID(task.TaskID))
	msg.Header.Set(protocol.HeaderJob, task.JobID)
	msg.Header.Set(protocol.HeaderTask, task.TaskID)
	msg.Header.Set(protocol.HeaderAttempt, strconv.Itoa(task.Attempt))
	if _, err := conn.JS.PublishMsg(ctx, msg); err != nil {
		_ = m.Nak()
		return
	}
	if err := lease.Release(ctx, task.TaskID, rev, true); err != nil {
		return // the claim expired: the requeuer runs it again, the stream drops the copy
	}
	_ = m.Ack()
}

// startWorker runs a real (new build) worker in this process on eng until
// cleanup and waits until it has registered.
func startNewWorker(t *testing.T, env *clustertest.Env, id string, eng worker.Engine) {
	t.Helper()
	w, err := worker.New(env.Connect(t), worker.Config{ID: id, Model: fleettest.Model, Engines: []worker.Engine{eng},
		Concurrency: 2, LeaseTTL: leaseTTL, CheckpointEvery: time.Second}, worker.WithLogger(fleettest.Log()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = w.Run(ctx) }() // owned: cleanup cancels and waits on Done
	t.Cleanup(func() { cancel(); <-w.Done() })
	eventually.True(t, startLimit, id+" registered", func() bool {
		resp, err := env.Conn.Etcd.Get(t.Context(), cluster.WorkerKey(id))
		return err == nil && len(resp.Kvs) == 1
	})
}

// TestRollingUpgradeSideBySide runs one job on an old-build worker
// (emulated, above) and a new-build worker at once: every task ends once
// in the output, and both builds wrote some of it.
func TestRollingUpgradeSideBySide(t *testing.T) {
	env := clustertest.Start(t)
	ps := fleettest.Problems(24)
	_, eng := fleettest.StartSim(t, ps, nil)
	dir := t.TempDir()
	_, cl := fleettest.StartCoordinator(t, env.Connect(t), dir, startLimit)
	startNewWorker(t, env, "new", worker.NewEngine(eng, nil))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { runOldWorker(ctx, t, env.Connect(t), "old") })
	defer func() { cancel(); wg.Wait() }()

	const samples = 2
	j, err := cl.Submit(t.Context(), coordinator.JobSpec{ID: "upgrade", Model: fleettest.Model, ProblemsJSONL: fleettest.JSONL(ps), Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	j = fleettest.WaitJob(t, env.Conn.Etcd, j.ID, jobLimit, func(j coordinator.Job) bool { return j.State.Terminal() })
	if j.State != "done" {
		t.Fatalf("job ended %s: %+v", j.State, j.Counts)
	}

	f, err := os.Open(filepath.Join(dir, "jobs", j.ID, coordinator.TrajectoriesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen, byWorker := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l outLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line: %v", err)
		}
		seen[l.TaskID]++
		byWorker[l.Worker]++
	}
	for _, p := range ps {
		for s := range samples {
			if id := trajectory.TaskID(j.ID, p.ID, s); seen[id] != 1 {
				t.Errorf("task %s written %d times, want once", id, seen[id])
			}
		}
	}
	t.Logf("written by worker: %v", byWorker)
	if byWorker["old"] == 0 || byWorker["new"] == 0 || len(seen) != len(ps)*samples {
		t.Fatalf("written by worker %v over %d tasks; want both builds and all %d tasks", byWorker, len(seen), len(ps)*samples)
	}
}

// TestWorkerIgnoresUnknownFields: a task message from a newer build of the
// same major version, with fields this build does not know at the top and
// inside the problem and hint settings, is run as usual; one of a newer
// major version is refused with the reason.
func TestWorkerIgnoresUnknownFields(t *testing.T) {
	env := clustertest.Start(t)
	ps := fleettest.Problems(1)
	_, eng := fleettest.StartSim(t, ps, nil)
	startNewWorker(t, env, "w", worker.NewEngine(eng, nil))

	for _, tc := range []struct {
		name, job string
		v         int
		refused   bool
	}{
		{name: "newer minor", job: "newer", v: protocol.Version},
		{name: "newer major", job: "major", v: protocol.Version + 1, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem, _ := json.Marshal(ps[0])
			var pm map[string]any
			_ = json.Unmarshal(problem, &pm)
			pm["x_difficulty"] = "hard"
			task := map[string]any{
				"v": tc.v, "job_id": tc.job, "task_id": trajectory.TaskID(tc.job, ps[0].ID, 0), "pool": fleettest.Model,
				"sample": 0, "attempt": 1, "problem": pm, "hint": map[string]any{"x_new_knob": 3},
				"x_priority_class": "gold",
			}
			body, _ := json.Marshal(task)
			id := task["task_id"].(string)
			msg := nats.NewMsg(cluster.TaskSubject(fleettest.Model, tc.job))
			msg.Data = body
			msg.Header.Set(jetstream.MsgIDHeader, cluster.TaskMsgID(id, 1))
			msg.Header.Set(protocol.HeaderJob, tc.job)
			msg.Header.Set(protocol.HeaderTask, id)
			msg.Header.Set(protocol.HeaderAttempt, "1")
			if _, err := env.Conn.JS.PublishMsg(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
			stream, err := env.Conn.JS.Stream(t.Context(), cluster.StreamResults)
			if err != nil {
				t.Fatal(err)
			}
			var raw *jetstream.RawStreamMsg
			eventually.True(t, jobLimit, "a result of "+id, func() bool {
				raw, err = stream.GetLastMsgForSubject(t.Context(), cluster.ResultSubject(tc.job))
				return err == nil
			})
			r, err := protocol.DecodeResult(raw.Data)
			if err != nil {
				t.Fatalf("result: %v", err)
			}
			if r.TaskID != id {
				t.Fatalf("result of %q, want %q", r.TaskID, id)
			}
			if tc.refused {
				if r.Failure == "" || r.Trajectory != nil {
					t.Fatalf("task of major %d: result %+v, want a failure naming the version", tc.v, r)
				}
				t.Logf("refused: %s", r.Failure)
				return
			}
			if r.Failure != "" || r.Trajectory == nil || r.Trajectory.Text == "" {
				t.Fatalf("task with unknown fields: failure %q, trajectory %v; want it run", r.Failure, r.Trajectory)
			}
		})
	}
}
