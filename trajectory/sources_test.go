package trajectory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourcesLoad(t *testing.T) {
	dir := t.TempDir()
	generic := filepath.Join(dir, "g.jsonl")
	if err := os.WriteFile(generic, []byte(`{"id":"a","q":"1+1?","final":"2"}`+"\n"+`{"id":"b","q":"2+2?","final":"4"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := Sources{Datasets: []string{"gsm8k", generic}, Fields: []string{"problem=q", "answer=final"}, Limit: 1}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Dataset != "gsm8k" || ps[1].Answer != "2" {
		t.Fatalf("loaded %+v, want the first problem of gsm8k and of the file (mapped)", ps)
	}
	for _, tc := range []struct {
		s    Sources
		want string
	}{
		{Sources{Datasets: []string{generic}, Fields: []string{"problem"}}, `field map "problem"`},
		{Sources{Datasets: []string{filepath.Join(dir, "none.jsonl")}}, "problems " + filepath.Join(dir, "none.jsonl")},
		{Sources{Datasets: []string{"gsm8k"}, Limit: -3}, "limit -3: want >= 0"},
	} {
		if _, err := tc.s.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%+v) = %v, want an error saying %q", tc.s, err, tc.want)
		}
	}
}

// TestProblemKeysUniqueAcrossDatasets: problem ids repeat across the named
// datasets (AMC 2023's and GSM8K's both start at 0), their keys and so the
// task ids made of them do not; a key that already names its dataset is
// not prefixed twice.
func TestProblemKeysUniqueAcrossDatasets(t *testing.T) {
	ps, err := Sources{Datasets: DatasetNames()}.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids, keys, tasks := map[string]bool{}, map[string]string{}, map[string]bool{}
	repeated := 0
	for _, p := range ps {
		if ids[p.ID] {
			repeated++
		}
		ids[p.ID] = true
		k := p.Key()
		if other, ok := keys[k]; ok {
			t.Fatalf("key %q of %s/%s also names a problem of %s", k, p.Dataset, p.ID, other)
		}
		keys[k] = p.Dataset
		if !strings.HasPrefix(k, p.Dataset+"/") || strings.HasPrefix(k, p.Dataset+"/"+p.Dataset+"/") {
			t.Errorf("key %q of %s problem %q: want the dataset once in front", k, p.Dataset, p.ID)
		}
		tasks[TaskID("infer", k, 0)] = true
	}
	if repeated == 0 {
		t.Fatal("no problem id repeats across the named datasets: the test shows nothing")
	}
	if len(tasks) != len(ps) {
		t.Errorf("%d task ids for %d problems", len(tasks), len(ps))
	}
	for _, tc := range []struct{ dataset, id, want string }{
		{"amc23", "0", "amc23/0"},
		{"math500", "math500/3", "math500/3"},
		{"humaneval", "HumanEval/0", "humaneval/HumanEval/0"},
		{"", "p1", "p1"},
	} {
		if got := ProblemKey(tc.dataset, tc.id); got != tc.want {
			t.Errorf("ProblemKey(%q, %q) = %q, want %q", tc.dataset, tc.id, got, tc.want)
		}
	}
}
