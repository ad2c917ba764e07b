package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// TestStrandedTaskRunsAgain: a task that nobody claims and nobody will
// deliver again has no claim for the requeuer to see. The reconciler finds
// it dispatched and neither claimed nor done, and republishes it as
// attempt 2 within about the lease TTL, not after JetStream's AckWait (30
// minutes) or never.
func TestStrandedTaskRunsAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		// strand takes the delivery of one task out of reach and returns
		// the task's id.
		strand func(t *testing.T, env *clustertest.Env, cons jetstream.Consumer) string
	}{
		{
			// Its worker died between fetch and claim, or its claim never
			// reached etcd and it did not nak: delivered, never settled.
			name: "delivered and dropped without a claim",
			strand: func(t *testing.T, _ *clustertest.Env, cons jetstream.Consumer) string {
				batch, err := cons.Fetch(1, jetstream.FetchMaxWait(waitLimit))
				if err != nil {
					t.Fatal(err)
				}
				var task protocol.Task
				for m := range batch.Messages() {
					if task, err = protocol.DecodeTask(m.Data()); err != nil {
						t.Fatal(err)
					}
				}
				return task.TaskID
			},
		},
		{
			// The stream lost it (restored from an older disk): nothing to
			// deliver at all.
			name: "message lost from the stream",
			strand: func(t *testing.T, env *clustertest.Env, _ jetstream.Consumer) string {
				ctx := context.Background()
				st, err := env.Conn.JS.Stream(ctx, cluster.StreamTasks)
				if err != nil {
					t.Fatal(err)
				}
				m, err := st.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(cluster.TaskSubject(scheduler.PoolFor(testModel), "stranded")))
				if err != nil {
					t.Fatal(err)
				}
				if err := st.DeleteMsg(ctx, m.Sequence); err != nil {
					t.Fatal(err)
				}
				return m.Header.Get(protocol.HeaderTask)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := clustertest.Start(t)
			dir := t.TempDir()
			ps := testProblems(3)
			eng := worker.NewEngine(startSim(t, ps, 200), nil)
			r := startReplica(t, env, dir, coordinator.Config{})
			waitLeader(t, r)
			ctx := context.Background()
			cons, err := cluster.EnsurePoolConsumer(ctx, env.Conn.JS, scheduler.PoolFor(testModel), cluster.ConsumerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "stranded", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
				t.Fatal(err)
			}
			waitJob(t, env.Conn.Etcd, "stranded", func(j coordinator.Job) bool { return j.Counts.Dispatched == 3 })
			task := tc.strand(t, env, cons)
			if task == "" {
				t.Fatal("no task stranded")
			}
			strandedAt := time.Now()
			startWorker(t, env, "w1", []worker.Engine{eng}, nil) // lease TTL 2s
			got := waitJob(t, env.Conn.Etcd, "stranded", terminal)
			if got.State != coordinator.JobDone {
				t.Fatalf("job %s %+v", got.State, got.Counts)
			}
			checkExactlyOnce(t, dir, "stranded", ps, 1)
			if line := readTrajectory(t, dir, "stranded", task); line.Attempt != 2 {
				t.Fatalf("stranded task written by attempt %d, want 2 (republished by the reconciler)", line.Attempt)
			}
			if n := metric(t, r, "hintfleet_tasks_reconciled_total"); n != 1 {
				t.Fatalf("reconciled %v tasks, want 1", n)
			}
			t.Logf("stranded task written %v after it was stranded (worker lease TTL 2s)", time.Since(strandedAt).Round(time.Millisecond))
		})
	}
}

// readTrajectory returns the output line of task.
func readTrajectory(t *testing.T, dir, job, task string) trajectory.Trajectory {
	t.Helper()
	rd, err := trajectory.OpenReader[trajectory.Trajectory](dir + "/jobs/" + job + "/" + coordinator.TrajectoriesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for {
		tr, err := rd.Next()
		if err != nil {
			t.Fatalf("no line for %s: %v", task, err)
		}
		if tr.TaskID == task {
			return tr
		}
	}
}
