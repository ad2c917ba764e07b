package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// lines counts the lines of path; 0 when it does not exist yet.
func lines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestInferExitStatus: infer's exit status says whether every task is in
// --out (finding 4 of issue 16): a model no engine serves fails, with the
// summary on stdout and one line saying what failed and how to retry; of
// two engines, one stopped, every task moves to the one that runs and the
// run succeeds, even without --model (the model is the running engine's).
func TestInferExitStatus(t *testing.T) {
	ps := fleettest.Problems(3)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, up := fleettest.StartSim(t, ps, nil)
	stopped, down := fleettest.StartSim(t, ps, nil)
	if err := stopped.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	out := filepath.Join(dir, "nosuch.jsonl")
	r := cli(t, "infer", "--dataset", problems, "--engine", up.BaseURL(), "--model", "nosuch", "--no-tools", "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "3 of 3 tasks failed") || !strings.Contains(r.stderr, "rerun with the same --out") {
		t.Errorf("--model nosuch: exit %d, stderr %q; want 1 saying 3 of 3 failed and how to retry", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "errors") {
		t.Errorf("--model nosuch: stdout %q, want the summary", r.stdout)
	}

	out = filepath.Join(dir, "failover.jsonl")
	r = cli(t, "infer", "--dataset", problems, "--engine", up.BaseURL(), "--engine", down.BaseURL(), "--no-tools",
		"--samples", "2", "--out", out)
	if r.code != 0 || lines(out) != 6 {
		t.Errorf("one engine stopped: exit %d, %d lines written, stderr %q; want 0 and all 6", r.code, lines(out), r.stderr)
	}
}

// TestInferResumeRefusesOtherSettings: a rerun with --hints none on a
// --hints paper output is refused with the difference shown, and
// --force-append mixes them on purpose (finding 3 of issue 16).
func TestInferResumeRefusesOtherSettings(t *testing.T) {
	ps := fleettest.Problems(3)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, c := fleettest.StartSim(t, ps, nil)
	out := filepath.Join(t.TempDir(), "t.jsonl")
	args := []string{"infer", "--dataset", problems, "--engine", c.BaseURL(), "--no-tools", "--out", out}
	if r := cli(t, append(args, "--limit", "2")...); r.code != 0 {
		t.Fatalf("first run: exit %d, %s", r.code, r.stderr)
	}
	r := cli(t, append(args, "--hints", "none")...)
	if r.code != 1 || !strings.Contains(r.stderr, `hints: "paper" → "none"`) || !strings.Contains(r.stderr, "--force-append") {
		t.Errorf("rerun with --hints none: exit %d, stderr %q; want 1 showing the difference", r.code, r.stderr)
	}
	if lines(out) != 2 {
		t.Errorf("refused rerun: %d lines, want the first run's 2", lines(out))
	}
	if r := cli(t, append(args, "--hints", "none", "--force-append")...); r.code != 0 || lines(out) != 3 {
		t.Errorf("--force-append: exit %d, %d lines, stderr %q; want 0 and 3", r.code, lines(out), r.stderr)
	}
}

// TestInferInterrupt: Ctrl-C (the signal context ending) stops infer with
// the summary, a line saying how to resume and exit status 130, without
// "context canceled" (finding 11 of issue 16).
func TestInferInterrupt(t *testing.T) {
	ps := fleettest.Problems(40)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, c := fleettest.StartSim(t, ps, func(cfg *sim.Config) { cfg.Speedup = 20 })
	out := filepath.Join(t.TempDir(), "t.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, []string{"infer", "--dataset", problems, "--engine", c.BaseURL(), "--no-tools",
			"--concurrency", "1", "--out", out}, &stdout, &stderr)
	}()
	eventually.True(t, time.Minute, "a first trajectory written", func() bool { return lines(out) > 0 })
	cancel()
	select {
	case got := <-code:
		if got != exitInterrupted {
			t.Errorf("exit %d, want %d", got, exitInterrupted)
		}
	case <-time.After(time.Minute):
		t.Fatal("infer did not stop within a minute of the interrupt")
	}
	if !strings.Contains(stderr.String(), "rerun with the same --out to resume") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr %q: want how to resume, not \"context canceled\"", stderr.String())
	}
	if !strings.Contains(stdout.String(), "trajectories") {
		t.Errorf("stdout %q: want the summary", stdout.String())
	}
}

// TestHintFlagsExplicitZero: --max-tool-calls 0 means no tool calls (a
// Spec's -1), not the default of 6 that a Spec's 0 stands for; left unset
// it stays the default.
func TestHintFlagsExplicitZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--max-tool-calls", "0"}, -1},
		{nil, hint.DefaultMaxToolCalls},
		{[]string{"--max-tool-calls", "2"}, 2},
	} {
		var hf hintFlags
		cmd := &cobra.Command{Use: "x"}
		hf.register(cmd, true)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := hf.check(cmd); err != nil || hf.spec.MaxToolCalls != tc.want {
			t.Errorf("%v: max tool calls %d, %v; want %d", tc.args, hf.spec.MaxToolCalls, err, tc.want)
		}
	}
}
