package infer_test

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
)

// The end-to-end tests of tools other than Python (calc, bash, MCP) share
// their shape: start the real plugin, teach the sim the tool's fence, run
// Hint-infer with a hint library of that fence, and read each trajectory's
// tool call.

// startPlugin starts the plugin at path through the plugin host,
// checksummed as in production; the manager is closed at cleanup.
func startPlugin(tb testing.TB, name, path string, args ...string) *host.Manager {
	tb.Helper()
	sum, err := host.FileSHA256(path)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := host.New(ctx, []host.PluginConfig{{Name: name, Path: path, SHA256: sum, Args: args}})
	if err != nil {
		tb.Fatalf("start %s plugin: %v", name, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// integerProblems is the first n GSM8K problems whose answer is an integer.
func integerProblems(tb testing.TB, n int) []trajectory.Problem {
	tb.Helper()
	var out []trajectory.Problem
	for _, p := range loadProblems(tb, "gsm8k", 30) {
		if regexp.MustCompile(`^\d+$`).MatchString(p.Answer) && len(out) < n {
			out = append(out, p)
		}
	}
	return out
}

// runWithHints runs Hint-infer on problems against the engine at url, with
// the paper's hints plus the library hintsJSON (named name) and the stop
// deferred once, so that a reasoning without a trigger word still gets the
// hint; tools serve the fences. It fails the test unless every problem
// ends in a trajectory, and returns them.
func runWithHints(t *testing.T, url string, problems []trajectory.Problem, tools *host.Manager, name, hintsJSON string, concurrency int) []trajectory.Trajectory {
	t.Helper()
	lib, err := hint.ParseLibrary(name, []byte(hintsJSON))
	if err != nil {
		t.Fatal(err)
	}
	hc := paperHints()
	hc.Library = lib
	hc.Policy.DeferStop = 1
	out := filepath.Join(t.TempDir(), "trajectories.jsonl")
	sum, err := infer.Run(t.Context(), newEngines(t, url), problems, infer.Options{
		Samples: 1, Hint: hc, Tools: &infer.Tools{Router: tools}, Concurrency: concurrency, Out: out, Grader: &curate.MathGrader{}})
	if err != nil {
		t.Fatalf("infer.Run: %v", err)
	}
	if sum.Errors != 0 || sum.Trajectories != len(problems) {
		t.Fatalf("trajectories %d errors %d, want %d and 0", sum.Trajectories, sum.Errors, len(problems))
	}
	return readTrajectories(t, out)
}

// toolCall is the text of tr's last code step and last output step; a code
// step in another language than lang is an error.
func toolCall(t *testing.T, tr trajectory.Trajectory, lang string) (code, output string) {
	t.Helper()
	for _, s := range tr.Steps {
		switch s.Kind {
		case trajectory.StepCode:
			code = s.Text
			if s.Lang != lang {
				t.Errorf("%s: code step in %q, want %s", tr.TaskID, s.Lang, lang)
			}
		case trajectory.StepOutput:
			output = s.Text
		}
	}
	return code, output
}
