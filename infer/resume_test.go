package infer_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

// resumeSpeedup runs the sim fast: these tests are about what is written,
// not how long it takes.
const resumeSpeedup = 200

// TestResumeAcrossDatasets: AMC 2023 and GSM8K both number their problems
// from 0. After an amc23 run, adding gsm8k on the same output runs gsm8k's
// problems instead of taking them for amc23's (finding 2 of issue 16), and
// a file written before task ids named the dataset resumes as if written
// now: its tasks are skipped, not run twice.
func TestResumeAcrossDatasets(t *testing.T) {
	amc, gsm := loadProblems(t, "amc23", 2), loadProblems(t, "gsm8k", 2)
	if amc[0].ID != gsm[0].ID {
		t.Fatalf("amc23's first id %q, gsm8k's %q: want the same, or the test shows nothing", amc[0].ID, gsm[0].ID)
	}
	all := append(append([]trajectory.Problem(nil), amc...), gsm...)
	_, url := startSim(t, simConfig(all, resumeSpeedup))
	eng := newEngines(t, url)
	opt := infer.Options{Samples: 1, Concurrency: 2, Hint: noHints()}

	t.Run("adding a dataset", func(t *testing.T) {
		opt := opt
		opt.Out = filepath.Join(t.TempDir(), "t.jsonl")
		if _, err := infer.Run(t.Context(), eng, amc, opt); err != nil {
			t.Fatal(err)
		}
		sum, err := infer.Run(t.Context(), eng, all, opt)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Skipped != 2 || sum.Trajectories != 4 {
			t.Errorf("second run: %d resumed, %d trajectories; want 2 and 4", sum.Skipped, sum.Trajectories)
		}
		ids := map[string]string{}
		for _, tr := range readTrajectories(t, opt.Out) {
			if other, ok := ids[tr.TaskID]; ok {
				t.Errorf("task id %s names a %s and a %s problem", tr.TaskID, other, tr.Dataset)
			}
			ids[tr.TaskID] = tr.Dataset
			if !strings.Contains(tr.TaskID, "/"+tr.Dataset+"/") {
				t.Errorf("task id %s does not name its dataset %s", tr.TaskID, tr.Dataset)
			}
		}
		if len(ids) != 4 {
			t.Errorf("%d distinct tasks written, want 4", len(ids))
		}
	})

	t.Run("a file of the old ids", func(t *testing.T) {
		opt := opt
		opt.Out = filepath.Join(t.TempDir(), "t.jsonl")
		if _, err := infer.Run(t.Context(), eng, amc, opt); err != nil {
			t.Fatal(err)
		}
		// Rewrite the ids as they were written before: "infer/0/0".
		var lines []string
		for _, tr := range readTrajectories(t, opt.Out) {
			tr.TaskID = trajectory.TaskID(tr.JobID, tr.ProblemID, tr.Sample)
			b, err := json.Marshal(tr)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, string(b))
		}
		if err := os.WriteFile(opt.Out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		sum, err := infer.Run(t.Context(), eng, all, opt)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Skipped != 2 || sum.Trajectories != 4 || countLines(t, opt.Out) != 4 {
			t.Errorf("resumed %d, %d trajectories, %d lines; want 2, 4, 4 (the old ids' tasks not run again)",
				sum.Skipped, sum.Trajectories, countLines(t, opt.Out))
		}
	})
}
