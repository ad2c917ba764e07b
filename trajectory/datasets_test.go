package trajectory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDatasetReal reads every named dataset from the copy compiled into
// the binary: with $HINTFLEET_DATASETS unset nothing on disk is looked at.
func TestLoadDatasetReal(t *testing.T) {
	t.Setenv(DatasetsEnv, "")
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
			ps, err := LoadDataset(tt.name, "")
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
	t.Setenv(DatasetsEnv, "")
	for _, name := range DatasetNames() {
		t.Run(name, func(t *testing.T) {
			src, err := ResolveDataset(name, "")
			if err != nil {
				t.Fatal(err)
			}
			if !src.Embedded || src.Path != "datasets/"+datasetSpecs[name].file {
				t.Errorf("source %+v, want the embedded datasets/%s", src, datasetSpecs[name].file)
			}
			f, err := src.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pr, err := NewProblemReader(f, src.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			if _, err := pr.Next(); err != nil {
				t.Fatal(err)
			}
			if pr.Format() != src.Format {
				t.Errorf("sniffed %q, want %q", pr.Format(), src.Format)
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

// TestDatasetsOverride: a folder given as dir or by $HINTFLEET_DATASETS
// replaces the embedded copies (dir first), and a folder that does not exist
// is an error, never a silent fall back.
func TestDatasetsOverride(t *testing.T) {
	mine := t.TempDir()
	if err := os.MkdirAll(filepath.Join(mine, "aime25"), 0o755); err != nil {
		t.Fatal(err)
	}
	row := `{"id": "x1", "problem": "What is 1+1?", "answer": 2}` + "\n"
	if err := os.WriteFile(filepath.Join(mine, "aime25", "test.jsonl"), []byte(row), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name, env, dir string
		rows           int    // aime25 rows read; 0 when an error is expected
		errHas         string // part of the error
	}{
		{"embedded", "", "", 30, ""},
		{"env", mine, "", 1, ""},
		{"dir", "", mine, 1, ""},
		{"dir over env", empty, mine, 1, ""},
		{"env without the file", empty, "", 0, "aime25/test.jsonl not found under " + empty},
		{"env missing", filepath.Join(empty, "nope"), "", 0, "$" + DatasetsEnv},
		{"dir missing", "", filepath.Join(empty, "nope"), 0, "datasets folder " + filepath.Join(empty, "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(DatasetsEnv, tt.env)
			ps, err := LoadDataset("aime25", tt.dir)
			if tt.rows == 0 {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != tt.rows || ps[0].Dataset != "aime25" {
				t.Fatalf("read %d rows (%+v), want %d of aime25", len(ps), ps[0], tt.rows)
			}
		})
	}
}

// TestOpenDatasetBadLineNamesFile: a bad line in an overriding folder is
// reported with the file's path and line, as for any JSONL file.
func TestOpenDatasetBadLineNamesFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "gsm8k"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"question": "q", "answer": "a #### 1"}` + "\n" + `{"question": 3}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "gsm8k", "test.jsonl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, err := OpenDataset("gsm8k", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if _, err := pr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = pr.Next()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.File != filepath.Join(dir, "gsm8k", "test.jsonl") {
		t.Fatalf("err = %#v, want a ParseError at %s:2", err, filepath.Join(dir, "gsm8k", "test.jsonl"))
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// TestDatasetsOrigin: what a serving process says at start about where
// named datasets come from (issue 18 finding 8: `up` said nothing, and a
// wrong folder surfaced only at the first job).
func TestDatasetsOrigin(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	for _, tt := range []struct {
		name, env, dir string
		want, errHas   string
	}{
		{name: "embedded", want: "the copies in the binary (aime24, aime25, amc23, gsm8k, humaneval, math500)"},
		{name: "dir", dir: dir, want: "folder " + dir},
		{name: "env", env: dir, want: "folder " + dir + " ($" + DatasetsEnv + ")"},
		{name: "dir over env", env: missing, dir: dir, want: "folder " + dir},
		{name: "dir missing", dir: missing, errHas: "datasets folder " + missing},
		{name: "env missing", env: missing, errHas: "$" + DatasetsEnv + "=" + missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(DatasetsEnv, tt.env)
			got, err := DatasetsOrigin(tt.dir)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("DatasetsOrigin(%q) = %q, %v; want an error containing %q", tt.dir, got, err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DatasetsOrigin(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}
