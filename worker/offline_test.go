package worker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// The fault tests of this package drive one delivery through a worker's
// task code by hand, with a real lease whose etcd calls may pass through
// an interceptor that injects the fault, and a worker whose engine refuses
// connections (a task that gets to generate fails and is handed back).

// oneDelivery publishes one task of job "j" on pool and returns it and its
// delivery from the pool's consumer.
func oneDelivery(t *testing.T, env *clustertest.Env, pool string) (protocol.Task, jetstream.Msg) {
	t.Helper()
	return deliver(t, env, poolConsumer(t, env, pool), pool, "p")
}

// poolConsumer ensures the streams and returns pool's shared consumer.
func poolConsumer(t *testing.T, env *clustertest.Env, pool string) jetstream.Consumer {
	t.Helper()
	ctx := context.Background()
	if err := cluster.EnsureStreams(ctx, env.Conn.JS, cluster.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	cons, err := cluster.EnsurePoolConsumer(ctx, env.Conn.JS, pool, cluster.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// deliver publishes the task of job "j" for problem on pool and returns it
// and its delivery from cons.
func deliver(t *testing.T, env *clustertest.Env, cons jetstream.Consumer, pool, problem string) (protocol.Task, jetstream.Msg) {
	t.Helper()
	task := protocol.Task{JobID: "j", TaskID: trajectory.TaskID("j", problem, 0), Pool: pool, Attempt: 1,
		Problem: trajectory.Problem{ID: problem, Question: "1+1?"}}
	b, err := task.Encode()
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(cluster.TaskSubject(pool, "j"))
	msg.Data = b
	if _, err := env.Conn.JS.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	return task, fetchOne(t, cons)
}

// leaseVia grants a 30 s lease on its own etcd client, whose unary calls
// go through icpt when it is not nil.
func leaseVia(t *testing.T, env *clustertest.Env, icpt grpc.UnaryClientInterceptor) *cluster.Lease {
	t.Helper()
	ctx := context.Background()
	cfg := clientv3.Config{Endpoints: env.Endpoints().Etcd, DialTimeout: 10 * time.Second}
	if icpt != nil {
		cfg.DialOptions = []grpc.DialOption{grpc.WithUnaryInterceptor(icpt)}
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	lease, err := cluster.NewLease(ctx, cli, cluster.WithLeaseTTL(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lease.Close(ctx) })
	return lease
}

// offlineWorker is worker "w" of pool holding lease, its one engine
// refusing connections.
func offlineWorker(t *testing.T, env *clustertest.Env, pool string, lease *cluster.Lease, opts ...Option) *Worker {
	t.Helper()
	eng, err := engine.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(env.Connect(t), Config{ID: "w", Model: "m", Engines: []Engine{NewEngine(eng, nil)}, Pool: pool}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.lease = lease
	return w
}

// checkpoints opens the fleet's checkpoint store for a hand-driven task.
func checkpoints(t *testing.T, env *clustertest.Env) *checkpointStore {
	t.Helper()
	kv, err := openCheckpoints(context.Background(), env.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}
