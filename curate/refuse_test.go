package curate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

// writeTrajectories writes trs as a trajectories file under dir.
func writeTrajectories(t *testing.T, dir, name string, trs ...trajectory.Trajectory) string {
	t.Helper()
	p := filepath.Join(dir, name)
	w, err := trajectory.OpenWriter(p)
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
	return p
}

// inDataset is traj of problem id of dataset ds, sample s.
func inDataset(ds, id string, s int, answer, ref string) trajectory.Trajectory {
	tr := traj(trajectory.TaskID("infer", trajectory.ProblemKey(ds, id), s), id, answer, ref, gen(fmt.Sprintf(`sample %d: \boxed{%s}`, s, answer)))
	tr.Dataset, tr.Sample = ds, s
	return tr
}

// TestRFTCountsProblemsAcrossDatasets: a file mixing datasets whose ids
// repeat (amc23's problem 0 and gsm8k's) counts two problems, each with
// its own samples, not one problem of twice the samples (finding 2 of
// issue 16).
func TestRFTCountsProblemsAcrossDatasets(t *testing.T) {
	dir := t.TempDir()
	in := writeTrajectories(t, dir, "mixed.jsonl",
		inDataset("amc23", "0", 0, "27", "27"), inDataset("amc23", "0", 1, "3", "27"),
		inDataset("gsm8k", "0", 0, "18", "18"), inDataset("gsm8k", "0", 1, "18", "18"))
	res, err := RFTKeep(context.Background(), &MathGrader{}, []string{in}, filepath.Join(dir, "kept.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Stats; s.Problems != 2 || s.K != 2 || s.PassAtK != 1 || res.Kept != 3 {
		t.Errorf("stats %+v kept %d: want 2 problems of k 2, pass@k 1, 3 kept", s, res.Kept)
	}
}

// TestRFTReadsSeveralInputs: rft --in takes many files, as curate's does
// (finding 13 of issue 16): one problem's samples split over two files are
// one problem of k 2, and a missing second file refuses before the output
// is touched.
func TestRFTReadsSeveralInputs(t *testing.T) {
	dir := t.TempDir()
	a := writeTrajectories(t, dir, "a.jsonl", inDataset("amc23", "0", 0, "27", "27"))
	b := writeTrajectories(t, dir, "b.jsonl", inDataset("amc23", "0", 1, "3", "27"))
	kept := filepath.Join(dir, "kept.jsonl")
	res, err := RFTKeep(context.Background(), &MathGrader{}, []string{a, b}, kept)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Stats; s.Problems != 1 || s.K != 2 || res.Kept != 1 {
		t.Errorf("stats %+v kept %d: want 1 problem of k 2, 1 kept", s, res.Kept)
	}
	before, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.jsonl")
	if _, err := RFTKeep(context.Background(), nil, []string{a, missing}, kept); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err %v, want one naming %s", err, missing)
	}
	if after, _ := os.ReadFile(kept); string(after) != string(before) {
		t.Error("output rewritten although the second input is missing")
	}
}

// TestRefuseMissingInputs: curation and RFT without their input, or with
// one that does not exist, refuse before creating or truncating any output
// (finding 9 of issue 16).
func TestRefuseMissingInputs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jsonl")
	earlier := filepath.Join(dir, "kept.jsonl")
	if err := os.WriteFile(earlier, []byte("earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "seed")
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"rft without input", func() error {
			_, err := RFTKeep(context.Background(), nil, nil, earlier)
			return err
		}, "no input trajectories file"},
		{"rft missing input", func() error {
			_, err := RFTKeep(context.Background(), nil, []string{missing}, earlier)
			return err
		}, missing},
		{"curate missing input", func() error {
			_, err := Run(context.Background(), Options{Inputs: []string{missing}, OutDir: out})
			return err
		}, missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "open :") {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
			if b, err := os.ReadFile(earlier); err != nil || string(b) != "earlier\n" {
				t.Errorf("earlier output %q, %v: want it untouched", b, err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output folder %s made (%v), want none", out, err)
			}
		})
	}
}
