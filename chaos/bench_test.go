package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// Benchmarks run a fixed workload once (make bench: -benchtime 1x) and
// print BENCH lines; b.N is ignored. Sizes are set for a 2-core machine and
// can be raised through the environment.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchProblems(n int) []trajectory.Problem { return fleettest.Problems(n) }

func jsonl(ps []trajectory.Problem) string { return fleettest.JSONL(ps) }

// startCoordinator runs an in-process replica until cleanup and waits
// until it leads.
func startCoordinator(b *testing.B, env *clustertest.Env, cfg coordinator.Config) *coordinator.Coordinator {
	b.Helper()
	c, err := coordinator.New(env.Connect(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-errc })
	eventually.True(b, startLimit, "coordinator leads", c.IsLeader)
	return c
}

// startSims runs n in-process sim engines knowing ps.
func startSims(b *testing.B, n int, ps []trajectory.Problem, speedup float64) []*engine.Client {
	b.Helper()
	var out []*engine.Client
	for range n {
		cfg := sim.DefaultConfig()
		cfg.Model, cfg.Speedup, cfg.Problems = testModel, speedup, ps
		cfg.MaxModelLen = 8192
		cfg.Reasoner.ReasoningTokens = 300
		srv, err := sim.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		url, err := srv.Start(context.Background(), "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Close() })
		c, err := engine.New(url, engine.WithModel(testModel))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// startWorkers runs one in-process worker per engine until cleanup.
func startWorkers(b *testing.B, env *clustertest.Env, engs []*engine.Client, sessions int, tools hint.Tool) {
	b.Helper()
	for i, e := range engs {
		w, err := worker.New(env.Connect(b), worker.Config{ID: fmt.Sprintf("w%d", i+1), Model: testModel,
			Engines: []worker.Engine{worker.NewEngine(e, nil)}, Tools: tools, Concurrency: sessions,
			LeaseTTL: leaseTTL, CheckpointEvery: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = w.Run(ctx) }()
		b.Cleanup(func() { cancel(); <-w.Done() })
	}
}

// waitDone polls the leader's live job until it is terminal.
func waitDone(b *testing.B, c *coordinator.Coordinator, id string, limit time.Duration) coordinator.Job {
	b.Helper()
	var j coordinator.Job
	eventually.True(b, limit, "job "+id+" ends", func() bool {
		var err error
		j, err = c.Get(context.Background(), id)
		return err == nil && j.State.Terminal()
	})
	return j
}

// BenchmarkEnqueue: tasks/s the coordinator publishes for one large job
// (from Submit's return to every task acked by TASKS) against raw
// JetStream async publishes of as many messages of the same size, same
// window, on the same embedded server (fsync on every write) in the same
// run. HINTFLEET_BENCH_ENQUEUE_TASKS sets the size (default 50k: 1M takes
// far longer than a bench run on 2 cores).
func BenchmarkEnqueue(b *testing.B) {
	n := envInt("HINTFLEET_BENCH_ENQUEUE_TASKS", 50_000)
	env := clustertest.Start(b)
	c := startCoordinator(b, env, coordinator.Config{DataDir: b.TempDir(), MaxOutstanding: n, ElectionTTL: 2 * time.Second})
	coordRate, rawRate, size := enqueueVsRaw(b, c, env.Conn.NATS, n, 1)
	b.Logf("%d tasks: coordinator %.0f tasks/s, raw JetStream %.0f msgs/s (%d bytes each)", n, coordRate, rawRate, size)
	bench("enqueue_tasks_per_s", coordRate, "tasks/s")
	bench("enqueue_raw_jetstream_per_s", rawRate, "msgs/s")
	bench("enqueue_vs_raw_jetstream", coordRate/rawRate, "ratio")
}

// enqueueVsRaw submits one job of n tasks to c and measures the rate at
// which they are dispatched (from Submit's return to every task acked by
// TASKS), then the raw JetStream rate of as many messages of the same size
// on nc to a stream of replicas; and it returns both and the size.
func enqueueVsRaw(b *testing.B, c *coordinator.Coordinator, nc *nats.Conn, n, replicas int) (coordRate, rawRate float64, size int) {
	b.Helper()
	ps := benchProblems(n)
	ctx := context.Background()
	j, err := c.Submit(ctx, coordinator.JobSpec{ID: "enqueue", Model: testModel, ProblemsJSONL: jsonl(ps)})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	eventually.True(b, 10*time.Minute, "all tasks dispatched", func() bool {
		j, _ = c.Get(ctx, "enqueue")
		return j.Counts.Dispatched >= n
	})
	coordRate = float64(n) / time.Since(t0).Seconds()
	// Raw: same count, same payload size, same async window.
	size = len(mustJSON(protocol.Task{JobID: "enqueue", TaskID: trajectory.TaskID("enqueue", ps[0].ID, 0), Pool: testModel, Problem: ps[0]}))
	return coordRate, rawPublishRate(b, nc, n, size, replicas), size
}

// rawWindow is the coordinator's window of publishes awaiting acks
// (coordinator.publishWindow), so that the baseline publishes as it does.
const rawWindow = 1024

// rawPublishRate publishes n messages of size bytes with a Nats-Msg-Id
// each to a work-queue stream of its own (file storage, replicas) through
// async publishes with the coordinator's window, and returns the rate at
// which JetStream acked them.
func rawPublishRate(b *testing.B, nc *nats.Conn, n, size, replicas int) float64 {
	b.Helper()
	ctx := context.Background()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(rawWindow))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAWBENCH", Subjects: []string{"rawbench.>"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy, Replicas: replicas}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	t1 := time.Now()
	for i := range n {
		m := nats.NewMsg("rawbench.x")
		m.Data = payload
		m.Header.Set(jetstream.MsgIDHeader, strconv.Itoa(i))
		if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		b.Fatal("raw publishes not acked")
	}
	return float64(n) / time.Since(t1).Seconds()
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// BenchmarkDispatch: from the coordinator's publish of a task (seen by a
// subscriber on the task subjects) to a worker's session start (the
// trajectory's timings.start), over jobs that fit the fleet's free slots,
// so the figure is dispatch, not queueing.
func BenchmarkDispatch(b *testing.B) {
	const workers, sessions, perJob, jobs = 4, 16, 48, 4
	env := clustertest.Start(b)
	dir := b.TempDir()
	c := startCoordinator(b, env, coordinator.Config{DataDir: dir, ElectionTTL: 2 * time.Second})
	ps := benchProblems(perJob * jobs)
	startWorkers(b, env, startSims(b, workers, ps, 20), sessions, nil)
	var mu sync.Mutex
	published := map[string]time.Time{}
	// The callback runs on the subscription's own goroutine, stopped by
	// Unsubscribe at cleanup; it stamps each task's first publish.
	sub, err := env.Conn.NATS.Subscribe("hintfleet.tasks.>", func(m *nats.Msg) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, seen := published[m.Header.Get(protocol.HeaderTask)]; !seen {
			published[m.Header.Get(protocol.HeaderTask)] = now
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	var lat []float64
	for i := range jobs {
		id := fmt.Sprintf("dispatch-%d", i)
		if _, err := c.Submit(context.Background(), coordinator.JobSpec{ID: id, Model: testModel, ProblemsJSONL: jsonl(ps[i*perJob : (i+1)*perJob]),
			Hint: protocol.HintSpec{MaxHints: -1}}); err != nil {
			b.Fatal(err)
		}
		waitDone(b, c, id, jobLimit)
		rd, err := trajectory.OpenReader[trajectory.Trajectory](filepath.Join(dir, "jobs", id, coordinator.TrajectoriesFile))
		if err != nil {
			b.Fatal(err)
		}
		for {
			tr, err := rd.Next()
			if err != nil {
				break
			}
			mu.Lock()
			p, ok := published[tr.TaskID]
			mu.Unlock()
			if ok {
				lat = append(lat, float64(tr.Timings.Start.Sub(p))/float64(time.Millisecond))
			}
		}
		_ = rd.Close()
	}
	if len(lat) == 0 {
		b.Fatal("no dispatch latencies measured")
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(int(p*float64(len(lat))), len(lat)-1)] }
	b.Logf("%d tasks: p50 %.1f ms, p99 %.1f ms, max %.1f ms", len(lat), q(0.5), q(0.99), lat[len(lat)-1])
	bench("dispatch_p50_ms", q(0.5), "ms")
	bench("dispatch_p99_ms", q(0.99), "ms")
}
