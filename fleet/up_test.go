package fleet

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"
	"github.com/hintfleet/hintfleet/worker"
)

// limit bounds every wait of these tests: a fleet starts in seconds.
const limit = 2 * time.Minute

// start runs f in the background until the test ends (or stop is
// called), and returns stop, which cancels f's ctx and returns its error.
func start(t *testing.T, f func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f(ctx) }()
	var (
		done bool
		err  error
	)
	stop = func() error {
		if !done {
			cancel()
			err, done = <-errc, true
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitEndpoints waits for up's endpoints.json in dir.
func waitEndpoints(t *testing.T, dir string) cluster.Endpoints {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ep, err := cluster.WaitEndpoints(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// runJob submits two problems through the API at api (empty: the one
// endpoints.json names) with the fleet's own token, once the coordinator
// leads (an election announces itself to no client), and waits until the
// job ends, which needs a coordinator and a worker.
func runJob(t *testing.T, dir, api string) coordinator.Job {
	t.Helper()
	c, _, err := coordinator.ClientConfig{Data: dir, API: api}.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	eventually.True(t, limit, "the coordinator leads", func() bool {
		h, err := c.Health(ctx)
		return err == nil && h["leader"] == true
	})
	j, err := c.Submit(ctx, coordinator.JobSpec{Model: fleettest.Model, ProblemsJSONL: fleettest.JSONL(fleettest.Problems(2))})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = c.Wait(ctx, j.ID, nil); err != nil {
		t.Fatal(err)
	}
	if j.State != coordinator.JobDone {
		t.Fatalf("job %s ended %s, want %s", j.ID, j.State, coordinator.JobDone)
	}
	return j
}

func simWorkers(t *testing.T) Workers {
	_, eng := fleettest.StartSim(t, fleettest.Problems(2), nil)
	return Workers{Node: worker.NodeConfig{Engines: []string{eng.BaseURL()}}, NoTools: true}
}

// TestUp: one Up is the whole fleet: a job submitted through the API its
// endpoints.json names runs to the end on its worker, and when ctx ends
// Up returns nil and takes endpoints.json away.
func TestUp(t *testing.T) {
	dir := t.TempDir()
	stop := start(t, func(ctx context.Context) error {
		return Up(ctx, UpConfig{Data: dir, Workers: 1, Coordinator: true, Replica: Replica{Listen: "127.0.0.1:0"},
			Worker: simWorkers(t), Logger: fleettest.Log()})
	})
	ep := waitEndpoints(t, dir)
	if ep.API == "" || ep.Model != fleettest.Model || ep.APITokenFile == "" {
		t.Fatalf("endpoints = api %q model %q token file %q, want an API, model %q and a token file", ep.API, ep.Model, ep.APITokenFile, fleettest.Model)
	}
	runJob(t, dir, "")
	if err := stop(); err != nil {
		t.Fatalf("Up after ctx ended = %v, want nil", err)
	}
	if _, err := os.Stat(cluster.EndpointsPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("endpoints.json after Up returned: %v, want it gone", err)
	}
}

// TestUpRefuses: bad settings, and a data directory another up owns, are
// errors before anything starts.
func TestUpRefuses(t *testing.T) {
	owned := t.TempDir()
	start(t, func(ctx context.Context) error {
		return Up(ctx, UpConfig{Data: owned, Coordinator: false, Replica: Replica{Security: coordinator.Security{Insecure: true}}})
	})
	waitEndpoints(t, owned)
	var inUse *cluster.InUseError
	for _, tc := range []struct {
		name string
		cfg  UpConfig
		want string
		as   any
	}{
		{name: "no data", cfg: UpConfig{}, want: "--data DIR is required"},
		{name: "negative workers", cfg: UpConfig{Data: t.TempDir(), Workers: -1}, want: "--workers -1: want >= 0"},
		{name: "no engine", cfg: UpConfig{Data: t.TempDir(), Workers: 1}, want: "no --engine given"},
		{name: "data in use", cfg: UpConfig{Data: owned}, as: &inUse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			err := Up(ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.as != nil && !errors.As(err, tc.as)) {
				t.Fatalf("Up = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestRunReplicaAndWorker: against the servers of an up without
// coordinator or workers, a replica (RunReplica) and a worker (RunWorker)
// joined through its data directory run a job to the end.
func TestRunReplicaAndWorker(t *testing.T) {
	dir := t.TempDir()
	start(t, func(ctx context.Context) error {
		return Up(ctx, UpConfig{Data: dir, Logger: fleettest.Log()})
	})
	waitEndpoints(t, dir)
	rlog := newRecorder()
	stopReplica := start(t, func(ctx context.Context) error {
		return RunReplica(ctx, cluster.Access{Data: dir}, Replica{Listen: "127.0.0.1:0"}, slog.New(rlog))
	})
	w := simWorkers(t)
	w.Config.ID = "w1"
	stopWorker := start(t, func(ctx context.Context) error {
		return RunWorker(ctx, cluster.Access{Data: dir}, w, fleettest.Log())
	})
	api := rlog.wait(t, "coordinator replica up", "api")
	runJob(t, dir, api)
	if err := stopWorker(); err != nil {
		t.Errorf("RunWorker after ctx ended = %v, want nil", err)
	}
	if err := stopReplica(); err != nil {
		t.Errorf("RunReplica after ctx ended = %v, want nil", err)
	}
}

// recorder is a slog handler that hands every record to wait: how a test
// learns the address a replica listens on (port 0) from what it logs.
type recorder struct{ records chan slog.Record }

func newRecorder() *recorder { return &recorder{records: make(chan slog.Record, 1024)} }

// Enabled keeps debug records out: they could fill the buffer before the
// record a test waits for, which would then be dropped.
func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r.records <- rec.Clone():
	default: // a test that reads no more does not block the logger
	}
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// wait returns attribute key of the first record whose message is msg.
func (r *recorder) wait(t *testing.T, msg, key string) string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case rec := <-r.records:
			if rec.Message != msg {
				continue
			}
			var v string
			rec.Attrs(func(a slog.Attr) bool {
				if a.Key == key {
					v = a.Value.String()
				}
				return true
			})
			return v
		case <-deadline:
			t.Fatalf("no log %q within %v", msg, limit)
		}
	}
}
