package trajectory

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenWriterRepairsTornTail(t *testing.T) {
	big := strings.Repeat("x", 200<<10) // spans several backward-scan chunks
	tests := []struct {
		name, in, want string
	}{
		{"missing", "\x00", ""},
		{"empty", "", ""},
		{"whole", "{}\n{}\n", "{}\n{}\n"},
		{"torn", "{}\n{\"a\":", "{}\n"},
		{"only torn", `{"a":1`, ""},
		{"big torn", "{}\n" + big, "{}\n"},
		{"big whole then torn", big + "\n" + big, big + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.jsonl")
			if tt.in != "\x00" {
				if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w, err := OpenWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := w.Repaired(), int64(max(len(tt.in)-len(tt.want), 0)); tt.in != "\x00" && got != want {
				t.Errorf("Repaired = %d, want %d", got, want)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("file = %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), tt.want, len(tt.want))
			}
		})
	}
}

func TestWriterAppendAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	in := []Trajectory{
		{TaskID: "a", Text: "x<y && \"q\"\n", Correct: &yes, Steps: []Step{{Kind: StepGen, Text: "x"}}},
		{TaskID: "b"},
	}
	for _, tr := range in {
		if err := w.Append(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AppendRaw([]byte(`{"task_id":"c"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendRaw([]byte("{}\n{}")); err == nil {
		t.Error("AppendRaw with newline: no error")
	}
	if err := w.Append(func() {}); err == nil {
		t.Error("Append of a func: no error")
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(in[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), `\u003c`) {
		t.Errorf("HTML-escaped output: %s", raw)
	}
	r, err := OpenReader[Trajectory](path, WithStrict())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, errs := readAll(t, r)
	if len(errs) != 0 || len(got) != 3 {
		t.Fatalf("read back %d records, errs %v", len(got), errs)
	}
	if got[0].Text != in[0].Text || *got[0].Correct != true || got[2].TaskID != "c" {
		t.Errorf("round trip: %+v", got)
	}
}

func TestWriterLineLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	w, err := OpenWriter(path, WithWriterMaxLineSize(32))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(map[string]string{"a": strings.Repeat("x", 40)}); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
	if _, err := OpenWriter(path, WithWriterMaxLineSize(-1)); err == nil {
		t.Fatal("bad option: no error")
	}
}

func TestWriterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				tr := Trajectory{TaskID: fmt.Sprintf("%d-%d", g, i), Text: strings.Repeat("y", i*37)}
				if err := w.Append(tr); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := OpenReader[Trajectory](path, WithStrict())
	defer r.Close()
	got, errs := readAll(t, r)
	if len(errs) != 0 || len(got) != writers*each {
		t.Fatalf("read %d records, errs %v", len(got), errs)
	}
	seen := map[string]bool{}
	for _, tr := range got {
		if seen[tr.TaskID] {
			t.Fatalf("duplicate %s", tr.TaskID)
		}
		seen[tr.TaskID] = true
	}
}

// crashChildEnv carries the output path to the child of TestWriterCrash.
const crashChildEnv = "HINTFLEET_TRAJECTORY_CRASH_CHILD"

// TestWriterCrashChild is the child of TestWriterCrash, not a test of its
// own: it appends lines forever, reporting each count on fd 3, until killed.
func TestWriterCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("child of TestWriterCrash only")
	}
	w, err := OpenWriter(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	for i := 0; ; i++ {
		// Lines up to ~1 MiB, so that the kill often lands inside a write.
		tr := Trajectory{TaskID: strconv.Itoa(i), Text: strings.Repeat("z", (i*7919)%(1<<20))}
		if err := w.Append(tr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if _, err := fmt.Fprintln(report, i+1); err != nil {
			os.Exit(3)
		}
	}
}

// TestWriterCrash kills a writing process with SIGKILL mid-stream and
// checks that OpenWriter leaves a file in which every line parses.
func TestWriterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	const atLeast = 50
	path := filepath.Join(t.TempDir(), "crash.jsonl")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	written := 0
	sc := bufio.NewScanner(pr)
	for written < atLeast && sc.Scan() {
		written, _ = strconv.Atoi(sc.Text())
	}
	if written < atLeast {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child stopped after %d lines: %v", written, sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; want killed")
	}

	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child reported %d lines; repair cut %d bytes", written, w.Repaired())
	if err := w.Append(Trajectory{TaskID: "after-crash", Timings: Timings{Start: time.Unix(0, 0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader[Trajectory](path, WithStrict())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, errs := readAll(t, r)
	if len(errs) != 0 {
		t.Fatalf("after repair, bad lines: %v", errs)
	}
	if len(got) < written+1 {
		t.Fatalf("read %d lines, child reported %d written (+1 after)", len(got), written)
	}
	for i, tr := range got[:len(got)-1] {
		if tr.TaskID != strconv.Itoa(i) {
			t.Fatalf("line %d: task %q, want %d", i+1, tr.TaskID, i)
		}
	}
	if got[len(got)-1].TaskID != "after-crash" {
		t.Fatalf("last line %q, want after-crash", got[len(got)-1].TaskID)
	}
}
