package infer_test

import (
	"bytes"
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
