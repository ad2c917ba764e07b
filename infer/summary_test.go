package infer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

func TestSummarize(t *testing.T) {
	yes, no := true, false
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := func(id string, correct *bool, completion, wasted, tools int, offset time.Duration) trajectory.Trajectory {
		return trajectory.Trajectory{TaskID: id, Correct: correct, ToolCalls: tools, Hints: 1, FinishReason: "stop",
			Tokens:  trajectory.Tokens{Prompt: 10, Completion: completion, Wasted: wasted},
			Timings: trajectory.Timings{Start: start.Add(offset), TotalMS: 1000}}
	}
	for _, tc := range []struct {
		name   string
		lines  []trajectory.Trajectory
		errors []trajectory.Trajectory
		want   infer.Summary
		wantS  time.Duration
	}{
		{
			name:  "graded, tools, wasted",
			lines: []trajectory.Trajectory{tr("a", &yes, 100, 1, 1, 0), tr("b", &no, 300, 3, 0, time.Second)},
			want:  infer.Summary{Total: 2, Trajectories: 2, Graded: 2, Correct: 1, ToolCalls: 1, WithTool: 1, Hints: 2, CompletionTokens: 400, WastedTokens: 4},
			wantS: 2 * time.Second,
		},
		{
			name:  "a task written twice counts once",
			lines: []trajectory.Trajectory{tr("a", &yes, 100, 0, 1, 0), tr("a", &yes, 100, 0, 1, 0)},
			want:  infer.Summary{Total: 1, Trajectories: 1, Graded: 1, Correct: 1, ToolCalls: 1, WithTool: 1, Hints: 1, CompletionTokens: 100},
			wantS: time.Second,
		},
		{
			name:   "failed tasks from the errors file",
			lines:  []trajectory.Trajectory{tr("a", nil, 100, 0, 0, 0)},
			errors: []trajectory.Trajectory{{TaskID: "b"}, {TaskID: "a"}},
			want:   infer.Summary{Total: 2, Trajectories: 1, Errors: 1, Hints: 1, CompletionTokens: 100},
			wantS:  time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.jsonl")
			write(t, path, tc.lines)
			if tc.errors != nil {
				write(t, path+".errors.jsonl", tc.errors)
			}
			got, err := infer.Summarize("x", path)
			if err != nil {
				t.Fatal(err)
			}
			g := *got
			w := tc.want
			if g.Total != w.Total || g.Trajectories != w.Trajectories || g.Errors != w.Errors || g.Graded != w.Graded ||
				g.Correct != w.Correct || g.ToolCalls != w.ToolCalls || g.WithTool != w.WithTool || g.Hints != w.Hints ||
				g.CompletionTokens != w.CompletionTokens || g.WastedTokens != w.WastedTokens {
				t.Errorf("got %+v\nwant %+v", g, w)
			}
			if g.Elapsed != tc.wantS {
				t.Errorf("elapsed %v, want %v", g.Elapsed, tc.wantS)
			}
			if g.NewTokens != g.CompletionTokens {
				t.Errorf("new tokens %d, want all %d", g.NewTokens, g.CompletionTokens)
			}
			var b bytes.Buffer
			if err := infer.WriteTable(&b, got); err != nil || !strings.Contains(b.String(), "accuracy") {
				t.Errorf("WriteTable: %v\n%s", err, b.String())
			}
		})
	}
	if _, err := infer.Summarize("x", filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Error("missing file: no error")
	}
}

func write(t *testing.T, path string, trs []trajectory.Trajectory) {
	t.Helper()
	w, err := trajectory.OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trs {
		if err := w.Append(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSummaryJSON: the JSON of a summary carries its counts and the derived
// figures, and reads back into a Summary.
func TestSummaryJSON(t *testing.T) {
	s := infer.Summary{Label: "hints", Total: 4, Trajectories: 4, Graded: 4, Correct: 3, CompletionTokens: 200,
		WastedTokens: 50, NewTokens: 100, Elapsed: 2 * time.Second, FinishReasons: map[string]int{"stop": 4}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"label": "hints", "tasks": 4.0, "correct": 3.0, "accuracy": 0.75,
		"wasted_pct": 25.0, "tokens_per_s": 50.0, "elapsed_s": 2.0, "elapsed_ns": 2e9} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v (JSON %s)", k, m[k], want, b)
		}
	}
	var back infer.Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Correct != s.Correct || back.Elapsed != s.Elapsed || back.FinishReasons["stop"] != 4 {
		t.Errorf("read back %+v, want %+v", back, s)
	}
}

// TestOptionsValidate: counts that are not set are errors, not defaults,
// and Run refuses them before it writes anything.
func TestOptionsValidate(t *testing.T) {
	ok := infer.Options{Samples: 1, Concurrency: 1, Out: "x.jsonl"}
	for _, tc := range []struct {
		name string
		mod  func(*infer.Options)
		want string
	}{
		{"valid", func(*infer.Options) {}, ""},
		{"no samples", func(o *infer.Options) { o.Samples = 0 }, "samples 0"},
		{"negative samples", func(o *infer.Options) { o.Samples = -2 }, "samples -2"},
		{"no concurrency", func(o *infer.Options) { o.Concurrency = 0 }, "concurrency 0"},
		{"no output", func(o *infer.Options) { o.Out = "" }, "no output file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, infer.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalidOptions naming %q", err, tc.want)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "t.jsonl")
	if _, err := infer.Run(t.Context(), nil, nil, infer.Options{Concurrency: 1, Out: out}); !errors.Is(err, infer.ErrInvalidOptions) {
		t.Fatalf("Run without samples = %v, want ErrInvalidOptions", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run with bad options created %s (%v)", out, err)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := infer.NewProgressBar(&b)
	bar.Update(infer.Summary{Total: 4, Trajectories: 1, Graded: 1, Correct: 1})
	bar.Update(infer.Summary{Total: 4, Trajectories: 4}) // the last: drawn however soon
	bar.Done()
	out := b.String()
	if !strings.Contains(out, "1/4") || !strings.Contains(out, "4/4") || !strings.HasSuffix(out, "\n") {
		t.Errorf("bar output %q: want 1/4 and 4/4 drawn, line ended", out)
	}
}
