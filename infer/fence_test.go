package infer_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
)

// TestHintInferOtherFence runs Hint-infer end to end through a tool that is
// not Python: the hint names a ```calc fence, the sim writes one, the real
// calc plugin (plugins/calc-py, a child process behind the plugin host)
// evaluates it, and the model's answer is the tool's output.
func TestHintInferOtherFence(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the sim engine and the calc plugin")
	}
	calc := startCalc(t)
	var problems []trajectory.Problem
	for _, p := range loadProblems(t, "gsm8k", 30) {
		if regexp.MustCompile(`^\d+$`).MatchString(p.Answer) && len(problems) < 6 {
			problems = append(problems, p)
		}
	}
	cfg := simConfig(problems, e2eSpeedup)
	cfg.Reasoner.Accuracy = 0
	_, url := startSim(t, cfg)
	lib, err := hint.ParseLibrary("calc-hints.json",
		[]byte(`[{"lang": "calc", "text": "Wait, let me compute this in a `+"```calc"+` block."}]`))
	if err != nil {
		t.Fatal(err)
	}
	hc := paperHints()
	hc.Library = lib
	// The stop is deferred once so that a reasoning without a trigger word
	// still gets the hint.
	hc.Policy.DeferStop = 1
	out := filepath.Join(t.TempDir(), "calc.jsonl")
	sum, err := infer.Run(t.Context(), newEngines(t, url), problems, infer.Options{
		Samples: 1, Hint: hc, Tools: &infer.Tools{Router: calc}, Concurrency: 4, Out: out, Grader: &curate.MathGrader{}})
	if err != nil {
		t.Fatalf("infer.Run: %v", err)
	}
	if sum.Errors != 0 || sum.Trajectories != len(problems) {
		t.Fatalf("trajectories %d errors %d, want %d and 0", sum.Trajectories, sum.Errors, len(problems))
	}
	for _, tr := range readTrajectories(t, out) {
		var code, output string
		for _, s := range tr.Steps {
			switch s.Kind {
			case trajectory.StepCode:
				code = s.Text
				if s.Lang != "calc" {
					t.Errorf("%s: code step in %q, want calc", tr.TaskID, s.Lang)
				}
			case trajectory.StepOutput:
				output = s.Text
			}
		}
		if !strings.HasPrefix(code, "```calc\n") || output == "" {
			t.Errorf("%s: no calc call: code %q output %q", tr.TaskID, code, output)
			continue
		}
		if tr.Correct == nil || !*tr.Correct {
			t.Errorf("%s: answer %q after calc said %q; the sim without tools is always wrong here, so the tool's output must decide",
				tr.TaskID, tr.Answer, output)
		}
	}
}

// startCalc starts plugins/calc-py through the plugin host, checksummed.
func startCalc(tb testing.TB) *host.Manager {
	tb.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		tb.Skipf("%s missing: the calc plugin cannot run", debianPython)
	}
	path, err := filepath.Abs("../plugins/calc-py/calc_plugin.py")
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := host.FileSHA256(path)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := host.New(ctx, []host.PluginConfig{{Name: "calc", Path: path, SHA256: sum}})
	if err != nil {
		tb.Fatalf("start calc plugin: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
