package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
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

	coordRate, rawRate, size := enqueueVsRaw(b, c, conn.NATS, n, 3)
	b.Logf("%d tasks on 3 nodes (R3, sync always): coordinator %.0f tasks/s, raw JetStream %.0f msgs/s (%d bytes each)", n, coordRate, rawRate, size)
	bench("cluster_enqueue_tasks_per_s", coordRate, "tasks/s")
	bench("cluster_enqueue_raw_jetstream_per_s", rawRate, "msgs/s")
	bench("cluster_enqueue_vs_raw_jetstream", coordRate/rawRate, "ratio")
}
