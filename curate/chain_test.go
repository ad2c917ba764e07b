package curate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/trajectory"
)

func filterNames(fs []Filter) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name())
	}
	return names
}

func TestFilterConfigFilters(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.jsonl")
	if err := os.WriteFile(plain, []byte(`{"task_id":"t","problem_id":"p1","correct":true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	def := DefaultFilterConfig()
	for _, tc := range []struct {
		name string
		mod  func(*FilterConfig)
		want []string
		err  string
	}{
		{"defaults are DefaultFilters", func(*FilterConfig) {}, filterNames(DefaultFilters()), ""},
		{"tool and seed selection before dedupe", func(c *FilterConfig) { c.RequireTool, c.PlainRun = true, plain },
			[]string{"wrong_answer", "repetition", "broken_tool_use", "over_length", "no_tool_use", "seed_selection", "duplicate"}, ""},
		{"repetition over 1", func(c *FilterConfig) { c.MaxRepetition = 1.5 }, nil, "repetition 1.5"},
		{"no max tokens", func(c *FilterConfig) { c.MaxTokens = 0 }, nil, "max tokens 0"},
		{"zero n", func(c *FilterConfig) { c.RepetitionN = 0 }, nil, "repetition n 0"},
		{"missing plain run", func(c *FilterConfig) { c.PlainRun = filepath.Join(dir, "none.jsonl") }, nil, "none.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := def
			tc.mod(&c)
			fs, err := c.Filters(nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Filters = %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := filterNames(fs); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("filters %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProblemKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	lines := `{"problem_id":"HumanEval/0","dataset":"humaneval"}
{"problem_id":"m1","dataset":"math500"}
not json
{"problem_id":"lcb1","dataset":"livecodebench"}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ProblemKinds([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]trajectory.Kind{"humaneval/HumanEval/0": trajectory.KindCode, "livecodebench/lcb1": trajectory.KindCode}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ProblemKinds = %v, want %v", got, want)
	}
	if _, err := ProblemKinds([]string{path + ".missing"}); err == nil {
		t.Error("ProblemKinds of a missing file: nil error")
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	rep := &Report{Funnel: Funnel{In: 3, Kept: 2}, Files: map[Format]string{FormatMessages: "x.jsonl"}}
	if err := WriteReport(dir, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Funnel.In != 3 || back.Funnel.Kept != 2 {
		t.Errorf("read back %+v, want the funnel written", back.Funnel)
	}
	// A folder that cannot take the file is an error, not a silent skip.
	if err := WriteReport(filepath.Join(dir, "missing"), rep); err == nil {
		t.Error("WriteReport into a missing folder: nil error")
	}
}
