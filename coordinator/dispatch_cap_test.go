package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// TestOutstandingCapFollowsFleet: with MaxOutstanding left 0 the dispatch
// cap is twice the capacity the live workers register, never below
// DefaultMaxOutstanding, re-read after capacityRefresh; draining workers do
// not count; a MaxOutstanding that is set is the cap whatever the fleet.
func TestOutstandingCapFollowsFleet(t *testing.T) {
	env := clustertest.Start(t)
	ctx := context.Background()
	register := func(id string, capacity int, draining bool) {
		t.Helper()
		b, err := json.Marshal(cluster.WorkerInfo{ID: id, Pool: "p", Model: "m", Capacity: capacity, Draining: draining})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Conn.Etcd.Put(ctx, cluster.WorkerKey(id), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		max     int
		workers map[string]int // id → capacity; negative: draining
		want    int
	}{
		{"no workers: the default", 0, nil, DefaultMaxOutstanding},
		{"a small fleet: the default", 0, map[string]int{"a": 64, "b": 64}, DefaultMaxOutstanding},
		{"two hundred nodes of 64", 0, nodes(200, 64), 2 * 200 * 64},
		{"draining workers do not count", 0, map[string]int{"a": 5000, "b": -5000}, 10000},
		{"set: the setting", 100, nodes(200, 64), 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := env.Conn.Etcd.Delete(ctx, cluster.WorkersPrefix, clientv3.WithPrefix()); err != nil {
				t.Fatal(err)
			}
			for id, n := range tc.workers {
				register(id, max(n, -n), n < 0)
			}
			c, err := New(env.Conn, Config{DataDir: t.TempDir(), MaxOutstanding: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.outstandingCap(ctx); got != tc.want {
				t.Fatalf("cap %d, want %d", got, tc.want)
			}
		})
	}

	t.Run("re-read after the refresh interval", func(t *testing.T) {
		if _, err := env.Conn.Etcd.Delete(ctx, cluster.WorkersPrefix, clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		register("a", 5000, false)
		c, err := New(env.Conn, Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.outstandingCap(ctx); got != 10000 {
			t.Fatalf("cap %d, want 10000", got)
		}
		register("b", 5000, false)
		if got := c.outstandingCap(ctx); got != 10000 {
			t.Fatalf("cap %d within the refresh interval, want the cached 10000", got)
		}
		c.fleetCapAt = time.Now().Add(-capacityRefresh)
		if got := c.outstandingCap(ctx); got != 20000 {
			t.Fatalf("cap %d after the refresh interval, want 20000", got)
		}
	})
}

// nodes is n workers of the given capacity each.
func nodes(n, capacity int) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		m[fmt.Sprintf("w%04d", i)] = capacity
	}
	return m
}

// TestBatchSize: a pick sends at least dispatchBatch tasks, an eighth of
// the room when that is more, at most maxDispatchBatch, never more than
// the room or the job's tasks left.
func TestBatchSize(t *testing.T) {
	tests := []struct{ room, left, want int }{
		{10, 1000, 10},             // the room is scarce: what fits
		{100, 1000, 64},            // one minimum batch
		{8192, 100_000, 1024},      // an eighth of the default room
		{128_000, 1_000_000, 4096}, // a thousand nodes' room: the most
		{128_000, 500, 500},        // the job's last tasks
		{0, 1000, 0},               // no room
	}
	for _, tc := range tests {
		if got := batchSize(tc.room, tc.left); got != tc.want {
			t.Errorf("batchSize(%d, %d) = %d, want %d", tc.room, tc.left, got, tc.want)
		}
	}
}
