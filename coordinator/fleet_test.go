package coordinator_test

import (
	"context"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/worker"
)

// TestHappyPath: 20 problems × 2 samples on 2 workers end as exactly 40
// trajectories.
func TestHappyPath(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(20)
	eng := worker.NewEngine(startSim(t, ps, 200), nil)
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	startWorker(t, env, "w1", []worker.Engine{eng}, nil)
	startWorker(t, env, "w2", []worker.Engine{eng}, nil)

	j, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "happy", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if j.Counts.Tasks != 40 {
		t.Fatalf("tasks = %d, want 40", j.Counts.Tasks)
	}
	got := waitJob(t, env.Conn.Etcd, "happy", terminal)
	if got.State != coordinator.JobDone || got.Counts.Done != 40 {
		t.Fatalf("job = %s with %+v, want done with 40", got.State, got.Counts)
	}
	tl := checkExactlyOnce(t, dir, "happy", ps, 2)
	if tl.written != 40 {
		t.Fatalf("written = %d, want 40", tl.written)
	}
	// The terminal record is written in the same transaction that deletes
	// the job's done markers and attempt counts: a finished job leaves its
	// registry entry, not one key per task.
	for _, prefix := range []string{cluster.DonePrefix, cluster.AttemptsPrefix, cluster.ClaimsPrefix} {
		resp, err := env.Conn.Etcd.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count != 0 {
			t.Errorf("%d keys under %s after the job, want 0", resp.Count, prefix)
		}
	}
}
