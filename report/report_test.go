package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/trajectory"
)

// writeRun writes n trajectories per dataset, the first correct ones correct.
func writeRun(t *testing.T, dir, name string, correct map[string]int, toolCalls, tokens int) string {
	t.Helper()
	path := filepath.Join(dir, name+".jsonl")
	w, err := trajectory.OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for ds, c := range correct {
		for i := 0; i < 10; i++ {
			ok := i < c
			tr := trajectory.Trajectory{TaskID: fmt.Sprintf("%s-%s-%d", name, ds, i), ProblemID: fmt.Sprint(i), Dataset: ds,
				Correct: &ok, ToolCalls: (i % (toolCalls + 1)), Tokens: trajectory.Tokens{Completion: tokens}}
			if err := w.Append(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.AppendRaw([]byte(`{"task_id": [`)) // one bad line: counted, not fatal
	return path
}

func buildInput(t *testing.T) (Input, string) {
	dir := t.TempDir()
	var runs []*Run
	for _, r := range []struct {
		label   string
		defer_  int
		correct map[string]int
		tools   int
		tokens  int
	}{
		{"plain", -1, map[string]int{"math500": 4, "gsm8k": 6}, 0, 900},
		{"hinted", 0, map[string]int{"math500": 6, "gsm8k": 8}, 2, 1200},
		{"hinted defer 2", 2, map[string]int{"math500": 7, "gsm8k": 9}, 3, 1800},
	} {
		run, err := LoadRun(r.label, writeRun(t, dir, strings.ReplaceAll(r.label, " ", "_"), r.correct, r.tools, r.tokens), r.defer_)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	cur := &curate.Report{Funnel: curate.Funnel{In: 100, Kept: 40, Stages: []curate.FunnelStage{{Filter: "wrong_answer", Removed: 50}, {Filter: "repetition", Removed: 10}}}}
	return Input{Title: "test report", Runs: runs, Curation: cur, RFT: &curate.RFTStats{Problems: 10, K: 4, PassAt1: 0.5}, Now: time.Unix(0, 0)}, dir
}

func TestLoadRunCounts(t *testing.T) {
	in, _ := buildInput(t)
	r := in.Runs[1]
	if r.Total.N != 20 || r.Total.Correct != 14 || r.Bad != 1 || r.Datasets["math500"].Accuracy() != 0.6 {
		t.Errorf("run %+v total %+v", r, r.Total)
	}
	if len(r.ToolCallHist) != 3 || r.ToolCallHist[0] != 8 {
		t.Errorf("tool call histogram %v, want [8 6 6]", r.ToolCallHist)
	}
}

func TestWriteHasEveryChart(t *testing.T) {
	in, _ := buildInput(t)
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`data-chart="accuracy"`, `data-chart="scaling"`, `data-chart="toolcalls"`, `data-chart="funnel"`,
		"defer 2", "<td>hinted</td><td>math500</td><td>10</td><td>10</td><td>60.0%</td>", "pass@k"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Labels are escaped: a run label cannot inject markup.
	in.Runs[0].Label = `<script>alert(1)</script>`
	b.Reset()
	Write(&b, in)
	if strings.Contains(b.String(), "<script>") {
		t.Error("run label rendered unescaped")
	}
}

func chromium() string {
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// TestScreenshotChartsRender opens the report in headless Chromium and checks
// that the bars and lines of every series were painted: pixels of each
// series colour must be present in the screenshot.
func TestScreenshotChartsRender(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed: make deps installs it")
		}
		t.Skip("chromium not installed (make deps installs it)")
	}
	in, dir := buildInput(t)
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(f, in); err != nil {
		t.Fatal(err)
	}
	f.Close()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1400,1400", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if dst := os.Getenv("HINTFLEET_REPORT_SHOT"); dst != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(dst, b, 0o644)
	}
	sf, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	img, err := png.Decode(sf)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			counts[fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)]++
		}
	}
	for _, c := range palette[:3] {
		if counts[c] < 300 {
			t.Errorf("colour %s painted on %d pixels, want bars of it (>= 300)", c, counts[c])
		}
	}
}
