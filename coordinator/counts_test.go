package coordinator_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/scheduler"
	"github.com/hintfleet/hintfleet/trajectory"
)

// registerWorker registers a worker of model under a lease of its own, as
// a worker process does, and returns the lease (closed at cleanup).
func registerWorker(t *testing.T, env *clustertest.Env, id, model string) *cluster.Lease {
	t.Helper()
	ctx := t.Context()
	l, err := cluster.NewLease(ctx, env.Connect(t).Etcd, cluster.WithLeaseTTL(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	if err := l.Register(ctx, cluster.WorkerInfo{ID: id, Pool: scheduler.PoolFor(model), Model: model, Capacity: 4}); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestQueuedRunningCounts (finding 6): a job's unfinished tasks read as
// queued and running separately — running is what workers hold claims on,
// not everything dispatched — in the API, the client and the table; and a
// job no worker can take says why it waits (finding 7).
func TestQueuedRunningCounts(t *testing.T) {
	env := clustertest.Start(t)
	r := startReplica(t, env, t.TempDir(), coordinator.Config{})
	waitLeader(t, r)
	ctx := t.Context()
	ps := testProblems(5)
	if _, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "q", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2}); err != nil {
		t.Fatal(err)
	}
	j, err := r.client.Get(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if c := j.Counts; c.Queued != 10 || c.Running != 0 || !strings.Contains(j.Waiting, `waiting for a worker of model "sim-test" (no worker is registered)`) {
		t.Fatalf("no worker: counts %+v waiting %q; want 10 queued, 0 running and the reason", c, j.Waiting)
	}

	// A worker of the model claims two tasks: two run, eight are queued,
	// whatever was dispatched to the stream.
	l := registerWorker(t, env, "w1", testModel)
	for s := range 2 {
		task := trajectory.TaskID("q", ps[0].ID, s)
		if _, err := l.Claim(ctx, task, cluster.ClaimValue{Worker: "w1", Job: "q", Pool: scheduler.PoolFor(testModel)}); err != nil {
			t.Fatal(err)
		}
	}
	j, err = r.client.Get(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if c := j.Counts; c.Queued != 8 || c.Running != 2 || c.Done != 0 || j.Waiting != "" {
		t.Errorf("two claimed: counts %+v waiting %q; want 8 queued, 2 running, no reason to wait", c, j.Waiting)
	}
	jobs, err := r.client.List(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].Counts.Running != 2 || jobs[0].Counts.Queued != 8 {
		t.Fatalf("List = %+v, %v; want q with 8 queued, 2 running", jobs, err)
	}
	var b strings.Builder
	if err := coordinator.WriteJobs(&b, jobs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "QUEUED") || !strings.Contains(b.String(), "RUNNING") || strings.Contains(b.String(), "IN FLIGHT") {
		t.Errorf("jobs table:\n%s\nwant QUEUED and RUNNING columns, no IN FLIGHT", b.String())
	}
	if _, err := r.client.Cancel(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	j, err = r.client.Get(ctx, "q")
	if err != nil || j.Counts.Queued != 0 || j.Counts.Running != 0 {
		t.Errorf("cancelled: %+v, %v; want nothing queued or running", j.Counts, err)
	}
}

// TestSubmitPlacesModel (findings 7 and 12): with workers registered, a
// job for a model none of them serves is refused (422, naming the model and
// what the workers serve) unless it asks to wait; a job without a model
// gets the one model the workers serve.
func TestSubmitPlacesModel(t *testing.T) {
	env := clustertest.Start(t)
	r := startReplica(t, env, t.TempDir(), coordinator.Config{})
	waitLeader(t, r)
	ctx := t.Context()
	jsonl := problemsJSONL(testProblems(1))

	// No worker at all: the fleet may be starting; no model to pick.
	if _, err := r.client.Submit(ctx, coordinator.JobSpec{ProblemsJSONL: jsonl}); err == nil || !strings.Contains(err.Error(), "no worker is registered") {
		t.Errorf("no model, no worker: %v; want a refusal saying no worker is registered", err)
	}
	registerWorker(t, env, "w1", testModel)

	_, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "typo", Model: "qwq-typo", ProblemsJSONL: jsonl})
	var ae *coordinator.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(err.Error(), `model "qwq-typo": live workers serve sim-test`) {
		t.Fatalf("unserved model: %v; want 422 naming the model and the models served", err)
	}
	if _, err := r.client.Get(ctx, "typo"); !errors.Is(err, coordinator.ErrJobNotFound) {
		t.Errorf("the refused job exists: %v", err)
	}

	j, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "held", Model: "later", WaitForWorker: true, ProblemsJSONL: jsonl})
	if err != nil || !strings.Contains(j.Waiting, `waiting for a worker of model "later" (live workers serve sim-test)`) {
		t.Errorf("wait_for_worker: %+v, %v; want accepted, saying what it waits for", j, err)
	}

	j, err = r.client.Submit(ctx, coordinator.JobSpec{ID: "picked", ProblemsJSONL: jsonl})
	if err != nil || j.Spec.Model != testModel {
		t.Errorf("no model: %+v, %v; want the workers' model %s", j.Spec, err, testModel)
	}
	registerWorker(t, env, "w2", "other-model")
	if _, err := r.client.Submit(ctx, coordinator.JobSpec{ProblemsJSONL: jsonl}); err == nil || !strings.Contains(err.Error(), "live workers serve other-model, sim-test") {
		t.Errorf("no model, two served: %v; want a refusal listing both", err)
	}
}

// TestResolveJob (finding 6): status and cancel take a job's id or a prefix
// of exactly one id; a prefix of several is refused listing them.
func TestResolveJob(t *testing.T) {
	env := clustertest.Start(t)
	r := startReplica(t, env, t.TempDir(), coordinator.Config{})
	waitLeader(t, r)
	ctx := t.Context()
	for _, id := range []string{"job-a1", "job-a2", "other"} {
		if _, err := r.client.Submit(ctx, coordinator.JobSpec{ID: id, Model: testModel, ProblemsJSONL: problemsJSONL(testProblems(1))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"job-a1", "job-a1", nil},
		{"oth", "other", nil},
		{"job-a", "", coordinator.ErrAmbiguousJob},
		{"nope", "", coordinator.ErrJobNotFound},
	} {
		got, err := r.client.ResolveJob(ctx, tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ResolveJob(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
		if tc.err == coordinator.ErrAmbiguousJob && (err == nil || !strings.Contains(err.Error(), "job-a1, job-a2")) {
			t.Errorf("ambiguous prefix: %v; want the matches listed", err)
		}
	}
}

// TestWaitNotes: `submit --wait` without a terminal says why the job
// waits, once per change, instead of waiting without a word (finding 7).
func TestWaitNotes(t *testing.T) {
	var b strings.Builder
	n := coordinator.NewWaitNotes(&b)
	for _, w := range []string{"", `waiting for a worker of model "m" (no worker is registered)`, `waiting for a worker of model "m" (no worker is registered)`, ""} {
		n.Update(coordinator.Job{ID: "j", Waiting: w})
	}
	want := "job j: waiting for a worker of model \"m\" (no worker is registered)\njob j: a worker took it\n"
	if b.String() != want {
		t.Errorf("notes:\n%s\nwant:\n%s", b.String(), want)
	}
}
