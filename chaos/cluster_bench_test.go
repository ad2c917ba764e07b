package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// BenchmarkClusterEnqueue: tasks/s the coordinator publishes for one job on
// a three-node cluster (cluster.StartNode in this process: R3 streams,
// every write fsync'd on each node), from Submit's return to every task
// acked by TASKS, against raw async publishes of as many messages of the
// same size to an R3 stream of the same cluster in the same run.
// HINTFLEET_BENCH_CLUSTER_ENQUEUE_TASKS sets the size (default 5k).
func BenchmarkClusterEnqueue(b *testing.B) {
	n := envInt("HINTFLEET_BENCH_CLUSTER_ENQUEUE_TASKS", 5_000)
	nodes := clustertest.StartNodes(b, 3)
	conn := nodes.Connect(b)
	if r := cluster.AutoReplicas(conn.NATS); r != 3 {
		b.Fatalf("streams on the cluster would be R%d, want R3", r)
	}
	c, err := coordinator.New(nodes.Connect(b), coordinator.Config{DataDir: b.TempDir(), MaxOutstanding: n, ElectionTTL: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }() // owned: cleanup cancels and waits
	b.Cleanup(func() { cancel(); <-errc })
	eventually.True(b, startLimit, "coordinator leads", c.IsLeader)

	ps := benchProblems(n)
	j, err := c.Submit(ctx, coordinator.JobSpec{ID: "enqueue", Model: testModel, ProblemsJSONL: jsonl(ps)})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	eventually.True(b, 10*time.Minute, "all tasks dispatched", func() bool {
		j, _ = c.Get(ctx, "enqueue")
		return j.Counts.Dispatched >= n
	})
	coordRate := float64(n) / time.Since(t0).Seconds()

	size := len(mustJSON(protocol.Task{JobID: "enqueue", TaskID: trajectory.TaskID("enqueue", ps[0].ID, 0), Pool: testModel, Problem: ps[0]}))
	rawRate := rawPublishRate(b, conn.NATS, n, size, 3)
	b.Logf("%d tasks on 3 nodes (R3, sync always): coordinator %.0f tasks/s, raw JetStream %.0f msgs/s (%d bytes each)", n, coordRate, rawRate, size)
	bench("cluster_enqueue_tasks_per_s", coordRate, "tasks/s")
	bench("cluster_enqueue_raw_jetstream_per_s", rawRate, "msgs/s")
	bench("cluster_enqueue_vs_raw_jetstream", coordRate/rawRate, "ratio")
}
