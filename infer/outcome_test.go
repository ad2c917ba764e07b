package infer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/infer"
)

// TestFailedTasksAreAnError: a run whose tasks fail (a model the engine
// does not serve) returns ErrTasksFailed saying how many failed, why, where
// their records are and how to retry, besides its summary (finding 4 of
// issue 16: it used to end in success with nothing written).
func TestFailedTasksAreAnError(t *testing.T) {
	ps := loadProblems(t, "gsm8k", 2)
	_, url := startSim(t, simConfig(ps, resumeSpeedup))
	eng, err := infer.NewEngines([]*engine.Client{newClient(t, url, engine.WithModel("nosuch"))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "t.jsonl")
	sum, err := infer.Run(t.Context(), eng, ps, infer.Options{Samples: 1, Concurrency: 2, Out: out, Hint: noHints()})
	if !errors.Is(err, infer.ErrTasksFailed) {
		t.Fatalf("Run = %v, want ErrTasksFailed", err)
	}
	for _, want := range []string{"2 of 2 tasks failed", "2× ", "nosuch", infer.ErrorsPath(out), "rerun with the same --out"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to say %q", err, want)
		}
	}
	if sum == nil || sum.Errors != 2 || sum.Trajectories != 0 {
		t.Errorf("summary %+v, want 2 errors and nothing written", sum)
	}
	if n := countLines(t, infer.ErrorsPath(out)); n != 2 {
		t.Errorf("errors file has %d lines, want 2", n)
	}
}

// TestFailover: of two real engines, one stopped, every task ends on the
// one that runs: a task that picked the stopped engine moves to the other
// and says so in its attempt (finding 4 of issue 16: half the tasks used
// to fail).
func TestFailover(t *testing.T) {
	ps := loadProblems(t, "gsm8k", 3)
	_, up := startSim(t, simConfig(ps, resumeSpeedup))
	stopped, downURL := startSim(t, simConfig(ps, resumeSpeedup))
	if err := stopped.Close(); err != nil {
		t.Fatal(err)
	}
	// The stopped engine second: the first task picks it (ties go
	// round-robin from the second), so a failover must happen.
	eng := newEngines(t, up, downURL)
	out := filepath.Join(t.TempDir(), "t.jsonl")
	sum, err := infer.Run(t.Context(), eng, ps, infer.Options{Samples: 2, Concurrency: 2, Out: out, Hint: noHints()})
	if err != nil {
		t.Fatalf("Run = %v, want every task done on the engine that runs", err)
	}
	if sum.Trajectories != 6 || sum.Errors != 0 {
		t.Fatalf("summary %+v, want 6 trajectories, no errors", sum)
	}
	moved := 0
	for _, tr := range readTrajectories(t, out) {
		if tr.Engine.URL != strings.TrimSuffix(up, "/") && tr.Engine.URL != up {
			t.Errorf("%s ran on %s, want %s", tr.TaskID, tr.Engine.URL, up)
		}
		if tr.Attempt > 1 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no task records a second attempt: nothing failed over")
	}
}

// TestInterruptSaysHowToResume: a run whose context ends part-way returns
// its summary and ErrInterrupted saying what is left and how to resume, not
// a bare "context canceled"; the rerun completes the file without
// duplicates (finding 11 of issue 16).
func TestInterruptSaysHowToResume(t *testing.T) {
	ps := loadProblems(t, "gsm8k", 6)
	_, url := startSim(t, simConfig(ps, resumeSpeedup))
	eng := newEngines(t, url)
	out := filepath.Join(t.TempDir(), "t.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opt := infer.Options{Samples: 1, Concurrency: 1, Out: out, Hint: noHints(),
		Progress: func(infer.Summary) { cancel() }}
	sum, err := infer.Run(ctx, eng, ps, opt)
	if !errors.Is(err, infer.ErrInterrupted) || errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want ErrInterrupted (not context.Canceled)", err)
	}
	if !strings.Contains(err.Error(), "rerun with the same --out to resume") || !strings.Contains(err.Error(), "of 6 tasks not run") {
		t.Errorf("error %q: want what is left and how to resume", err)
	}
	if sum == nil || sum.Trajectories < 1 || sum.Trajectories >= 6 {
		t.Fatalf("summary %+v, want some but not all written", sum)
	}
	opt.Progress = nil
	sum, err = infer.Run(t.Context(), eng, ps, opt)
	if err != nil || sum.Trajectories != 6 || countLines(t, out) != 6 {
		t.Fatalf("resume: %v, %d trajectories, %d lines; want 6 and 6", err, sum.Trajectories, countLines(t, out))
	}
}

// TestNoProblemsIsAnError: a run with nothing to run is an error, not a
// success that wrote nothing, and creates no output.
func TestNoProblemsIsAnError(t *testing.T) {
	out := filepath.Join(t.TempDir(), "t.jsonl")
	_, err := infer.Run(t.Context(), nil, nil, infer.Options{Samples: 1, Concurrency: 1, Out: out})
	if !errors.Is(err, infer.ErrNoProblems) {
		t.Fatalf("Run of no problems = %v, want ErrNoProblems", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run of no problems created %s (%v)", out, err)
	}
}
