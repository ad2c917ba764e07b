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
	} {
		if _, err := tc.s.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%+v) = %v, want an error saying %q", tc.s, err, tc.want)
		}
	}
}
