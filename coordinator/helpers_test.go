package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	waitLimit = 45 * time.Second
)

func testLog() *slog.Logger { return fleettest.Log() }

func testProblems(n int) []trajectory.Problem { return fleettest.Problems(n) }

func problemsJSONL(ps []trajectory.Problem) string { return fleettest.JSONL(ps) }

// startSim runs a fast simulated engine that knows ps; slow stretches each
// generation (for tests that act mid-generation).
func startSim(t *testing.T, ps []trajectory.Problem, speedup float64) *engine.Client {
	_, c := fleettest.StartSim(t, ps, func(c *sim.Config) { c.Speedup = speedup })
	return c
}

// replica is one coordinator with its HTTP server.
type replica struct {
	c      *coordinator.Coordinator
	srv    *httptest.Server
	client *coordinator.Client
	cancel context.CancelFunc
	errc   chan error
}

// stop ends the replica's Run and waits for it.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.errc; err != nil {
		t.Errorf("coordinator Run: %v", err)
	}
	r.errc <- nil // later stops return at once
}

func startReplica(t *testing.T, env *clustertest.Env, dir string, cfg coordinator.Config) *replica {
	t.Helper()
	conn := env.Connect(t)
	cfg.DataDir = dir
	if cfg.ElectionTTL == 0 {
		cfg.ElectionTTL = 2 * time.Second
	}
	r := &replica{errc: make(chan error, 1)}
	r.srv = httptest.NewUnstartedServer(nil)
	cfg.Advertise = "http://" + r.srv.Listener.Addr().String()
	c, err := coordinator.New(conn, cfg, coordinator.WithLogger(testLog().With("replica", cfg.Advertise)))
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	r.srv.Config.Handler = c.Handler()
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	r.client, err = coordinator.NewClient(r.srv.URL, r.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.errc <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitLeader waits until r leads, by observing the election.
func waitLeader(t *testing.T, r *replica) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for !r.c.IsLeader() {
		select {
		case <-ctx.Done():
			t.Fatal("replica never became leader")
		case <-time.After(20 * time.Millisecond): // poll an in-memory flag, not a sleep for ordering
		}
	}
}

// runner is one worker with its own connection, so that closing the
// connection is a crash.
type runner struct {
	w      *worker.Worker
	conn   *cluster.Conn
	cancel context.CancelFunc
	errc   chan error
}

func startWorker(t *testing.T, env *clustertest.Env, id string, engs []worker.Engine, mod func(*worker.Config)) *runner {
	t.Helper()
	conn := env.Connect(t)
	cfg := worker.Config{ID: id, Model: testModel, Engines: engs, Concurrency: 4, LeaseTTL: 2 * time.Second,
		CheckpointEvery: 50 * time.Millisecond, HealthEvery: 500 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	w, err := worker.New(conn, cfg, worker.WithLogger(testLog().With("worker", id)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{w: w, conn: conn, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-w.Done()
	})
	return r
}

// waitJob waits, by watching the job's registry key, until pred holds.
func waitJob(t *testing.T, cli *clientv3.Client, id string, pred func(coordinator.Job) bool) coordinator.Job {
	t.Helper()
	return fleettest.WaitJob(t, cli, id, waitLimit, pred)
}

func terminal(j coordinator.Job) bool { return j.State.Terminal() }

// tally is what a job's output holds.
type tally struct {
	written, dead, dup int
	byTask             map[string]string // task → "traj" or "dead"
}

// readOutput reads both files of a job and counts each task's lines.
func readOutput(t *testing.T, dir, job string) tally {
	t.Helper()
	tl := tally{byTask: map[string]string{}}
	for _, f := range []struct{ name, kind string }{{coordinator.TrajectoriesFile, "traj"}, {coordinator.DeadLettersFile, "dead"}} {
		rd, err := trajectory.OpenReader[struct {
			TaskID string `json:"task_id"`
		}](filepath.Join(dir, "jobs", job, f.name))
		if err != nil {
			t.Fatal(err)
		}
		for {
			l, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			if _, seen := tl.byTask[l.TaskID]; seen {
				tl.dup++
			}
			tl.byTask[l.TaskID] = f.kind
			if f.kind == "traj" {
				tl.written++
			} else {
				tl.dead++
			}
		}
		_ = rd.Close()
	}
	return tl
}

// checkExactlyOnce fails on any lost or duplicated task of the job.
func checkExactlyOnce(t *testing.T, dir, job string, ps []trajectory.Problem, k int) tally {
	t.Helper()
	tl := readOutput(t, dir, job)
	lost := 0
	for _, p := range ps {
		for s := range k {
			if _, ok := tl.byTask[trajectory.TaskID(job, p.ID, s)]; !ok {
				lost++
			}
		}
	}
	t.Logf("job %s: submitted %d, written %d, dead-lettered %d, duplicated %d, lost %d",
		job, len(ps)*k, tl.written, tl.dead, tl.dup, lost)
	if lost != 0 || tl.dup != 0 || tl.written+tl.dead != len(ps)*k {
		t.Fatalf("exactly-once broken: submitted %d, written %d, dead %d, dup %d, lost %d",
			len(ps)*k, tl.written, tl.dead, tl.dup, lost)
	}
	return tl
}

// faultEngine fails every request whose prompt holds poison, as an engine
// that crashes on one problem would.
type faultEngine struct {
	worker.Engine
	poison string
}

func (f faultEngine) Generate(ctx context.Context, req hint.GenRequest) (hint.GenStream, error) {
	if f.poison != "" && strings.Contains(req.Prompt, f.poison) {
		return nil, errors.New("engine died on this prompt")
	}
	return f.Engine.Generate(ctx, req)
}

// claimEvent is one change under the claims prefix, as a test sees it.
type claimEvent struct {
	at      time.Time
	deleted bool
	claim   cluster.ClaimValue
}

// watchClaims streams claim puts and deletes from now on into a channel
// that the test reads; the watch ends with the test.
func watchClaims(t *testing.T, cli *clientv3.Client) <-chan claimEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := cli.Get(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan claimEvent, 4096)
	wch := cli.Watch(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(resp.Header.Revision+1))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wr := range wch {
			for _, ev := range wr.Events {
				e := claimEvent{at: time.Now(), deleted: ev.Type == clientv3.EventTypeDelete}
				v := ev.Kv.Value
				if e.deleted && ev.PrevKv != nil {
					v = ev.PrevKv.Value
				}
				e.claim, _ = cluster.DecodeClaim(v)
				select {
				case out <- e:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// nextClaim waits for the first event that pred accepts.
func nextClaim(t *testing.T, ch <-chan claimEvent, what string, pred func(claimEvent) bool) claimEvent {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case e := <-ch:
			if pred(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no claim event: %s", what)
		}
	}
}

// waitKeyGone waits until key is deleted and returns when that was seen.
func waitKeyGone(t *testing.T, cli *clientv3.Client, key string) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return time.Now()
	}
	for wr := range cli.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterPut()) {
		if len(wr.Events) > 0 {
			return time.Now()
		}
	}
	t.Fatalf("key %s still there", key)
	return time.Time{}
}

func fmtSscan(s string, f *float64) (int, error) { return fmt.Sscan(s, f) }
