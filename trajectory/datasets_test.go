package trajectory

import (
	"errors"
	"strings"
	"testing"
)

// datasetsDir finds shared/datasets or skips: the files are part of the
// workspace, not of the module.
func datasetsDir(t *testing.T) string {
	t.Helper()
	d, err := FindDatasetsDir()
	if err != nil {
		t.Skipf("no datasets: %v", err)
	}
	return d
}

func TestLoadDatasetReal(t *testing.T) {
	dir := datasetsDir(t)
	tests := []struct {
		name  string
		rows  int
		kind  Kind
		check func(t *testing.T, ps []Problem)
	}{
		{"math500", 500, KindMath, func(t *testing.T, ps []Problem) {
			p := ps[0]
			want(t, "id", p.ID, "math500/0")
			want(t, "answer", p.Answer, "4")
			want(t, "level", p.Meta["level"], "1")
			want(t, "subject", p.Meta["subject"], "Algebra")
			if !strings.Contains(p.Solution, `\boxed{4}`) {
				t.Errorf("solution %q lacks \\boxed{4}", p.Solution)
			}
			want(t, "id[499]", ps[499].ID, "math500/499")
		}},
		{"aime24", 30, KindMath, func(t *testing.T, ps []Problem) {
			p := ps[0]
			want(t, "id", p.ID, "60")
			want(t, "answer", p.Answer, "204")
			if !strings.HasPrefix(p.Question, "Every morning Aya") {
				t.Errorf("question = %q", p.Question)
			}
			if !strings.HasPrefix(p.Meta["url"], "https://artofproblemsolving.com/") {
				t.Errorf("url = %q", p.Meta["url"])
			}
			if _, ok := p.Meta["question"]; ok {
				t.Errorf("meta keeps duplicate question")
			}
		}},
		{"aime25", 30, KindMath, func(t *testing.T, ps []Problem) {
			want(t, "id", ps[0].ID, "0")
			want(t, "answer", ps[0].Answer, "70")
			want(t, "answer[1]", ps[1].Answer, "588")
		}},
		{"amc23", 40, KindMath, func(t *testing.T, ps []Problem) {
			want(t, "id", ps[0].ID, "0")
			want(t, "answer", ps[0].Answer, "27")
			if strings.Contains(ps[0].Question, `\/`) {
				t.Errorf("question not unescaped: %q", ps[0].Question)
			}
		}},
		{"gsm8k", 1319, KindMath, func(t *testing.T, ps []Problem) {
			p := ps[0]
			want(t, "id", p.ID, "0")
			want(t, "answer", p.Answer, "18")
			if !strings.HasSuffix(p.Solution, "#### 18") {
				t.Errorf("solution = %q", p.Solution)
			}
			for _, p := range ps {
				if p.Answer == "" || strings.Contains(p.Answer, ",") {
					t.Errorf("%s: answer %q", p.ID, p.Answer)
				}
			}
		}},
		{"humaneval", 164, KindCode, func(t *testing.T, ps []Problem) {
			p := ps[0]
			want(t, "id", p.ID, "HumanEval/0")
			want(t, "entry_point", p.EntryPoint, "has_close_elements")
			if !strings.Contains(p.Test, "def check(candidate)") {
				t.Errorf("test = %q", p.Test)
			}
			if p.CanonicalCode == "" || !strings.HasPrefix(p.Question, "from typing import List") {
				t.Errorf("canonical %q question %q", p.CanonicalCode, p.Question)
			}
			want(t, "id[163]", ps[163].ID, "HumanEval/163")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := LoadDataset(tt.name, dir)
			if err != nil {
				t.Fatalf("LoadDataset: %v", err)
			}
			if len(ps) != tt.rows {
				t.Fatalf("rows = %d, want %d", len(ps), tt.rows)
			}
			for _, p := range ps {
				if p.Dataset != tt.name || p.Kind != tt.kind || p.Question == "" || p.ID == "" {
					t.Fatalf("bad problem %+v", p)
				}
				if tt.kind == KindMath && p.Answer == "" {
					t.Fatalf("%s: no answer", p.ID)
				}
			}
			tt.check(t, ps)
		})
	}
}

// TestLoadFileSniffsReal checks that sniffing alone (no WithFormat) reads
// every real file the same as LoadDataset.
func TestLoadFileSniffsReal(t *testing.T) {
	dir := datasetsDir(t)
	for _, name := range DatasetNames() {
		t.Run(name, func(t *testing.T) {
			path, format, err := ResolveDataset(name, dir)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := OpenProblems(path)
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			if _, err := pr.Next(); err != nil {
				t.Fatal(err)
			}
			if pr.Format() != format {
				t.Errorf("sniffed %q, want %q", pr.Format(), format)
			}
			if pr.Dataset() != name {
				t.Errorf("dataset %q, want %q", pr.Dataset(), name)
			}
		})
	}
}

func TestLoadDatasetUnknown(t *testing.T) {
	_, err := LoadDataset("mmlu", t.TempDir())
	if !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("err = %v, want ErrUnknownDataset", err)
	}
	for _, n := range DatasetNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
}

func TestFindDatasetsDirEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv(DatasetsEnv, d)
	got, err := FindDatasetsDir()
	if err != nil || got != d {
		t.Fatalf("FindDatasetsDir = %q, %v; want %q", got, err, d)
	}
	_, _, err = ResolveDataset("gsm8k", "")
	if err == nil || !strings.Contains(err.Error(), "gsm8k/test.jsonl not found") {
		t.Fatalf("ResolveDataset in empty dir: %v", err)
	}
	t.Setenv(DatasetsEnv, d+"/nope")
	if _, err := FindDatasetsDir(); err == nil {
		t.Fatal("missing $HINTFLEET_DATASETS folder: no error")
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
