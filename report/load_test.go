package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourcesLoad(t *testing.T) {
	dir := t.TempDir()
	plain := writeRun(t, dir, "plain", map[string]int{"math500": 4}, 0, 100)
	hinted := writeRun(t, dir, "hinted", map[string]int{"math500": 7}, 1, 120)
	cur := filepath.Join(dir, "curation.json")
	rft := filepath.Join(dir, "rft.json")
	bad := filepath.Join(dir, "bad.json")
	for p, s := range map[string]string{cur: `{"funnel":{"in":10,"kept":6}}`, rft: `{"stats":{"problems":3,"k":2}}`, bad: `{"funnel":`} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := Sources{Title: "t", Runs: []string{"base=" + plain}, Files: []string{hinted}, Scaling: []string{"2=" + hinted},
		Curation: cur, RFT: rft}.Load()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range in.Runs {
		labels = append(labels, r.Label)
	}
	if strings.Join(labels, ",") != "base,hinted,defer 2" || in.Runs[2].DeferStop != 2 {
		t.Errorf("runs %v, want base, hinted (by file name), defer 2", labels)
	}
	if in.Curation == nil || in.Curation.Funnel.Kept != 6 || in.RFT == nil || in.RFT.K != 2 || in.Now.IsZero() {
		t.Errorf("input %+v: want curation, rft stats and a time", in)
	}
	out := filepath.Join(dir, "r.html")
	if err := WriteFile(out, in); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("report file: %v, want HTML with charts", err)
	}
	for _, tc := range []struct {
		name string
		s    Sources
		want string
	}{
		{"run without label", Sources{Runs: []string{plain}}, "want LABEL=FILE"},
		{"scaling not a number", Sources{Scaling: []string{"x=" + plain}}, "want N=FILE"},
		{"missing run", Sources{Runs: []string{"a=" + filepath.Join(dir, "none.jsonl")}}, "none.jsonl"},
		{"bad curation", Sources{Curation: bad}, bad},
		{"nothing", Sources{Title: "t"}, "nothing to report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.s.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
