package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefuseLeavesOutputs: report, curate and rft without their inputs, or
// with an input that does not exist, exit 1 saying so and leave what an
// earlier run wrote as it was (finding 9 of issue 16); so does curate with
// a --plain run that lacks some of the problems (finding 16).
func TestRefuseLeavesOutputs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jsonl")
	report := writeFile(t, "report.html", "earlier report")
	kept := writeFile(t, "kept.jsonl", "earlier kept\n")
	seed := filepath.Join(dir, "seed")
	hinted := writeFile(t, "hinted.jsonl", `{"task_id":"infer/gsm8k/0/0","problem_id":"0","dataset":"gsm8k","correct":true}
{"task_id":"infer/gsm8k/1/0","problem_id":"1","dataset":"gsm8k","correct":true}
`)
	plain := writeFile(t, "plain.jsonl", `{"task_id":"infer/gsm8k/0/0","problem_id":"0","dataset":"gsm8k","correct":false}`+"\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"report without sources", []string{"report", "--out", report}, "nothing to report"},
		{"rft without input", []string{"rft", "--out", kept}, "no --in trajectories given"},
		{"rft missing input", []string{"rft", "--in", missing, "--out", kept}, missing},
		{"curate missing input", []string{"curate", "--in", missing, "--out", seed}, missing},
		{"curate partial plain run", []string{"curate", "--in", hinted, "--plain", plain, "--out", seed}, "no sample of 1 of the 2 problems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 saying %q", r.code, r.stderr, tc.want)
			}
			for p, want := range map[string]string{report: "earlier report", kept: "earlier kept\n"} {
				if b, err := os.ReadFile(p); err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want it untouched", p, b, err)
				}
			}
			if _, err := os.Stat(seed); !os.IsNotExist(err) {
				t.Errorf("curate made its output folder (%v)", err)
			}
		})
	}
}
