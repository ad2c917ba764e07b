package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// TestLockedEmbedded: with WithCredentials neither server answers a client
// without credentials (before, any local user listed /hintfleet/ keys and
// read whole task messages), the worker user may pull, publish results
// and checkpoint but not publish tasks, read results or manage streams,
// and a restart on the same directory keeps the lock.
func TestLockedEmbedded(t *testing.T) {
	dir := t.TempDir()
	files, creds, err := cluster.EnsureCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{files.NATSCoordinator, files.NATSWorker, files.EtcdRoot} {
		if st, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", p, st.Mode().Perm())
		}
	}
	if _, again, err := cluster.EnsureCredentials(dir); err != nil || again != creds {
		t.Errorf("EnsureCredentials again: %v, changed passwords: %v", err, again != creds)
	}
	sdir := filepath.Join(dir, "cluster")
	env := clustertest.StartIn(t, sdir, cluster.WithCredentials(creds))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	anon := env.Embedded.Config()
	anon.NATS.User, anon.NATS.Password = "", ""
	if c, err := cluster.Connect(ctx, anon); err == nil {
		c.Close()
		t.Error("NATS accepted a client without credentials")
	}
	noEtcd := env.Embedded.Config()
	noEtcd.Etcd.Username, noEtcd.Etcd.Password = "", ""
	if c, err := cluster.Connect(ctx, noEtcd); err == nil {
		c.Close()
		t.Error("etcd answered a client without credentials")
	}

	wcfg := env.Embedded.Config()
	wcfg.NATS.User, wcfg.NATS.Password = cluster.NATSWorkerUser, creds.NATSWorker
	w, err := cluster.Connect(ctx, wcfg)
	if err != nil {
		t.Fatalf("worker user: %v", err)
	}
	defer w.Close()
	if _, err := cluster.EnsurePoolConsumer(ctx, w.JS, "pool-a", cluster.ConsumerOptions{}); err != nil {
		t.Errorf("worker makes its pool's consumer: %v", err)
	}
	kv, err := w.JS.KeyValue(ctx, cluster.BucketCheckpoints)
	if err != nil {
		t.Fatalf("worker opens checkpoints: %v", err)
	}
	if _, err := kv.Put(ctx, "t1", []byte("cp")); err != nil {
		t.Errorf("worker writes a checkpoint: %v", err)
	}
	if _, err := kv.Get(ctx, "t1"); err != nil {
		t.Errorf("worker reads a checkpoint: %v", err)
	}
	// A retried task rebuilds its log with a watch on the task's keys (an
	// ordered consumer on the bucket's stream, with flow control). Without
	// the consumer and flow-control subjects every resume timed out and
	// started afresh in a locked fleet.
	if _, err := kv.Put(ctx, cluster.CheckpointKey("t2", "writer", "1"), []byte("delta")); err != nil {
		t.Errorf("worker writes a checkpoint delta: %v", err)
	}
	if got, err := watchOnce(ctx, kv, cluster.CheckpointFilter("t2")); err != nil || len(got) != 1 {
		t.Errorf("worker reads a task's checkpoint log with a watch: %d entries, %v; want 1", len(got), err)
	}
	if cs, err := w.JS.Stream(ctx, cluster.CheckpointsStream); err != nil {
		t.Errorf("worker looks up the checkpoints stream: %v", err)
	} else if err := cs.Purge(ctx, jetstream.WithPurgeSubject(cluster.CheckpointSubjects("t1"))); err != nil {
		t.Errorf("worker purges a task's checkpoint log: %v", err)
	}
	if _, err := w.JS.Publish(ctx, cluster.ResultSubject("j1"), []byte("{}")); err != nil {
		t.Errorf("worker publishes a result: %v", err)
	}
	short, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	if _, err := w.JS.Publish(short, cluster.TaskSubject("pool-a", "j1"), []byte("{}")); err == nil {
		t.Error("worker published a task")
	}
	if _, err := w.JS.CreateStream(short, jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}}); err == nil {
		t.Error("worker made a stream")
	}
	if err := w.JS.DeleteStream(short, cluster.StreamTasks); err == nil {
		t.Error("worker deleted TASKS")
	}
	if _, err := w.NATS.SubscribeSync(cluster.ResultSubject("j1")); err == nil {
		// The server refuses asynchronously; a flush surfaces it.
		if err := w.NATS.FlushTimeout(2 * time.Second); err == nil && w.NATS.LastError() == nil {
			t.Error("worker subscribed to results")
		}
	}
	if _, err := w.Etcd.Get(ctx, cluster.KeyPrefix); err != nil {
		t.Errorf("worker reads etcd with root's credentials: %v", err)
	}

	// A restart keeps the lock and the credentials.
	env.Conn.Close()
	w.Close()
	env.Embedded.Close()
	env2 := clustertest.StartIn(t, sdir, cluster.WithCredentials(creds))
	anon = env2.Embedded.Config()
	anon.Etcd.Username, anon.Etcd.Password = "", ""
	if c, err := cluster.Connect(ctx, anon); err == nil {
		c.Close()
		t.Error("etcd answered without credentials after a restart")
	}
}

// watchOnce reads every current entry under filter with a watch, as the
// worker rebuilds a checkpoint log, within 5 s.
func watchOnce(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case e, open := <-w.Updates():
			if !open || e == nil {
				return out, nil
			}
			out = append(out, e)
		}
	}
}
