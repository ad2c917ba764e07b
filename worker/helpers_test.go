package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/internal/fleettest"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

const (
	testModel = "sim-test"
	waitLimit = 60 * time.Second
)

func testLog() *slog.Logger { return fleettest.Log() }

func testProblems(n int) []trajectory.Problem { return fleettest.Problems(n) }

func problemsJSONL(ps []trajectory.Problem) string { return fleettest.JSONL(ps) }

// startSim runs a simulated engine that knows ps and returns it with a
// client; mod tunes its config.
func startSim(t *testing.T, ps []trajectory.Problem, mod func(*sim.Config)) (*sim.Server, *engine.Client) {
	return fleettest.StartSim(t, ps, mod)
}

// startCoordinator runs one coordinator replica with its HTTP API and waits
// until it leads.
func startCoordinator(t *testing.T, env *clustertest.Env, dir string) *coordinator.Client {
	t.Helper()
	_, cl := fleettest.StartCoordinator(t, env.Connect(t), dir, waitLimit)
	return cl
}

// startWorker runs a worker on its own connection until the test ends.
func startWorker(t *testing.T, env *clustertest.Env, id string, engs []worker.Engine, mod func(*worker.Config)) *worker.Worker {
	t.Helper()
	cfg := worker.Config{ID: id, Model: testModel, Engines: engs, Concurrency: 4, LeaseTTL: 10 * time.Second,
		CheckpointEvery: 50 * time.Millisecond, HealthEvery: 200 * time.Millisecond, MetricsEvery: 100 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	w, err := worker.New(env.Connect(t), cfg, worker.WithLogger(testLog().With("worker", id)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("worker %s Run: %v", id, err)
		}
	})
	return w
}

// waitJob waits, by watching the job's registry key, until pred holds.
func waitJob(t *testing.T, cli *clientv3.Client, id string, pred func(coordinator.Job) bool) coordinator.Job {
	t.Helper()
	return fleettest.WaitJob(t, cli, id, waitLimit, pred)
}

func terminal(j coordinator.Job) bool { return j.State.Terminal() }

// outputLine is the part of an output line the tests read.
type outputLine struct {
	TaskID  string `json:"task_id"`
	Worker  string `json:"worker"`
	Attempt int    `json:"attempt"`
}

// checkExactlyOnce fails on any lost, duplicated or dead-lettered task of
// the job and returns its trajectories by task.
func checkExactlyOnce(t *testing.T, dir, job string, ps []trajectory.Problem, k int) map[string]outputLine {
	t.Helper()
	got := map[string]outputLine{}
	dup, dead := 0, 0
	for _, name := range []string{coordinator.TrajectoriesFile, coordinator.DeadLettersFile} {
		rd, err := trajectory.OpenReader[outputLine](filepath.Join(dir, "jobs", job, name))
		if err != nil {
			t.Fatal(err)
		}
		for {
			l, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, seen := got[l.TaskID]; seen {
				dup++
			}
			if name == coordinator.DeadLettersFile {
				dead++
			}
			got[l.TaskID] = l
		}
		_ = rd.Close()
	}
	lost := 0
	for _, p := range ps {
		for s := range k {
			if _, ok := got[trajectory.TaskID(job, p.ID, s)]; !ok {
				lost++
			}
		}
	}
	t.Logf("job %s: submitted %d, output %d, dead-lettered %d, duplicated %d, lost %d", job, len(ps)*k, len(got), dead, dup, lost)
	if lost != 0 || dup != 0 || dead != 0 {
		t.Fatalf("exactly-once broken: submitted %d, lost %d, duplicated %d, dead-lettered %d", len(ps)*k, lost, dup, dead)
	}
	return got
}

// gateEngine holds every request until open is closed (or the request's
// context ends), so tests act while tasks are mid-generation; down makes
// its health check fail. It counts requests open at once.
type gateEngine struct {
	worker.Engine
	open chan struct{}

	mu        sync.Mutex
	down      bool
	streams   int
	maxStream int
	onOpen    func(open int)
}

func newGate(e worker.Engine) *gateEngine { return &gateEngine{Engine: e, open: make(chan struct{})} }

func (g *gateEngine) release() { close(g.open) }

func (g *gateEngine) setDown(down bool) {
	g.mu.Lock()
	g.down = down
	g.mu.Unlock()
}

func (g *gateEngine) Health(ctx context.Context) error {
	g.mu.Lock()
	down := g.down
	g.mu.Unlock()
	if down {
		return errors.New("engine down (test)")
	}
	return g.Engine.Health(ctx)
}

func (g *gateEngine) Generate(ctx context.Context, req hint.GenRequest) (hint.GenStream, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	g.mu.Lock()
	g.streams++
	g.maxStream = max(g.maxStream, g.streams)
	n, f := g.streams, g.onOpen
	g.mu.Unlock()
	if f != nil {
		f(n)
	}
	st, err := g.Engine.Generate(ctx, req)
	if err != nil {
		g.closed()
		return nil, err
	}
	return &countedStream{GenStream: st, g: g}, nil
}

func (g *gateEngine) closed() {
	g.mu.Lock()
	g.streams--
	g.mu.Unlock()
}

func (g *gateEngine) maxOpen() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxStream
}

type countedStream struct {
	hint.GenStream
	g    *gateEngine
	once sync.Once
}

func (s *countedStream) Close() error {
	s.once.Do(s.g.closed)
	return s.GenStream.Close()
}

// claimsOf counts the claims worker holds now.
func claimsOf(t *testing.T, cli *clientv3.Client, worker string) int {
	t.Helper()
	resp, err := cli.Get(context.Background(), cluster.ClaimsPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kv := range resp.Kvs {
		if c, err := cluster.DecodeClaim(kv.Value); err == nil && c.Worker == worker {
			n++
		}
	}
	return n
}
