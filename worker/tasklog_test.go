package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/worker"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTaskLogsAtDebug: a finished task is logged at debug level, so a
// worker (and `up`) at the default info level says nothing per task
// (issue 18 finding 15: one INFO line per task before).
func TestTaskLogsAtDebug(t *testing.T) {
	env := clustertest.Start(t)
	ps := testProblems(3)
	_, c := startSim(t, ps, nil)
	api := startCoordinator(t, env, t.TempDir())
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := worker.Config{ID: "w1", Model: testModel, Engines: []worker.Engine{worker.NewEngine(c, nil)},
		Concurrency: 2, LeaseTTL: 2 * time.Second, CheckpointEvery: 50 * time.Millisecond, HealthEvery: 200 * time.Millisecond}
	w, err := worker.New(env.Connect(t), cfg, worker.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-errc })
	if _, err := api.Submit(context.Background(), coordinator.JobSpec{ID: "quiet", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2}); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, env.Conn.Etcd, "quiet", terminal); j.State != coordinator.JobDone {
		t.Fatalf("job %s", j.State)
	}
	got := logs.String()
	if strings.Contains(got, `level=INFO msg="task done"`) || !strings.Contains(got, `level=DEBUG msg="task done"`) {
		t.Errorf("task done: want it at debug level only\n%s", got)
	}
}
