package democlone

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// names are the datasets a plain clone must resolve by name; the test
// asks the binary for its list too, so a new one cannot be forgotten here.
var names = map[string]int{"math500": 500, "aime24": 30, "aime25": 30, "amc23": 40, "gsm8k": 1319, "humaneval": 164}

// TestPlainCloneRunsDemo clones this repository's committed HEAD into a
// temporary folder (so it sees what `git clone` gives, not the working
// tree), clears every HINTFLEET_* variable, runs `make build` there, has
// the built binary resolve every named dataset, and runs the demo as `make
// demo` does (scripts/demo.sh), kept small: Hint-infer plain and hinted on
// 2 problems per dataset, then the fleet (`hintfleet up`, one worker) on a
// job of 2 problems × 1 sample. Afterwards `git status` must be clean.
// Nothing above the clone holds datasets, so a lookup outside the
// repository cannot succeed.
func TestPlainCloneRunsDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary in a fresh clone and runs the demo (tens of seconds)")
	}
	for _, p := range []string{"/usr/bin/bwrap", "/usr/bin/python3"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing: the demo's sandbox cannot run here (make deps installs it)", p)
		}
	}
	for _, tool := range []string{"git", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	env := cleanEnv()
	root, _, err := output(ctx, env, ".", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Skipf("not in a git checkout (%v): nothing to clone", err)
	}
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "hintfleet")
	run(t, ctx, env, tmp, "git", "clone", "--quiet", strings.TrimSpace(root), clone)

	lookups := productLookups(t, clone)
	if len(lookups) > 0 {
		t.Errorf("product code or scripts still look for a shared/datasets folder: %s", strings.Join(lookups, ", "))
	}

	build := run(t, ctx, env, clone, "make", "build")
	if strings.Contains(build, "warning:") {
		t.Errorf("make build printed compiler warnings:\n%s", build)
	}
	bin := filepath.Join(clone, "bin", "hintfleet")

	// Every named dataset resolves from the binary itself.
	listed := run(t, ctx, env, clone, bin, "datasets", "--help")
	for name, rows := range names {
		if !strings.Contains(listed, name) {
			t.Errorf("datasets --help does not list %s", name)
		}
		out := stdoutOf(t, ctx, env, tmp, bin, "datasets", "inspect", name, "--json")
		var in struct {
			File     string `json:"file"`
			Embedded bool   `json:"embedded"`
			Problems int    `json:"problems"`
			Errors   int    `json:"error_count"`
		}
		if err := json.Unmarshal([]byte(out), &in); err != nil {
			t.Fatalf("datasets inspect %s --json: %v\n%s", name, err, out)
		}
		if !in.Embedded || in.Problems != rows || in.Errors != 0 {
			t.Errorf("datasets inspect %s: %+v, want %d problems from the copy in the binary", name, in, rows)
		}
	}

	// The demo, as `make demo` runs it after deps and build, kept small.
	out := filepath.Join(tmp, "demo")
	demoEnv := slices.Concat(env, []string{"OUT=" + out, "N=2", "K=1", "WORKERS=1"})
	story := run(t, ctx, demoEnv, clone, "./scripts/demo.sh")
	for _, label := range []string{"plain", "hints"} {
		data, err := os.ReadFile(filepath.Join(out, "infer", label+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")); n != 4 {
			t.Errorf("%s run wrote %d trajectories, want 4 (2 MATH500 + 2 GSM8K)", label, n)
		}
	}
	if !strings.Contains(story, "Exactly once: 2 tasks submitted, 2 trajectories written") {
		t.Errorf("the fleet part did not write its 2 tasks exactly once:\n%s", story)
	}

	// Building and running leaves the clone as it was: whatever they
	// generate (bin/, __pycache__/) is ignored, nothing tracked changes.
	if st := stdoutOf(t, ctx, env, clone, "git", "status", "--porcelain"); st != "" {
		t.Errorf("git status after make build and the demo is not clean:\n%s", st)
	}
}

// cleanEnv is this process's environment without HINTFLEET_* variables,
// and without the variables an outer make (`make test`) hands down, so the
// clone's make starts as one run by hand would.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HINTFLEET_") || slices.Contains([]string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}, name) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// productLookups lists the clone's non-test Go files, scripts and
// Makefile that still name a shared/datasets folder.
func productLookups(t *testing.T, clone string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(clone, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "docs" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		product := (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) ||
			strings.HasSuffix(name, ".sh") || name == "Makefile"
		if !product {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("shared/datasets")) || bytes.Contains(b, []byte(`"shared", "datasets"`)) {
			rel, _ := filepath.Rel(clone, p)
			hits = append(hits, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// run runs name args in dir with env and returns its standard output and
// error together, failing the test with them when it exits non-zero.
func run(t *testing.T, ctx context.Context, env []string, dir, name string, args ...string) string {
	t.Helper()
	defer logTime(t, name, args)()
	stdout, stderr, err := output(ctx, env, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, stdout, stderr)
	}
	return stdout + stderr
}

// stdoutOf is run for a command whose standard output is parsed.
func stdoutOf(t *testing.T, ctx context.Context, env []string, dir, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := output(ctx, env, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, stdout, stderr)
	}
	return stdout
}

// logTime logs how long a step took, for whoever wonders where the
// test's time goes.
func logTime(t *testing.T, name string, args []string) func() {
	start := time.Now()
	return func() {
		t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	}
}

func output(ctx context.Context, env []string, dir, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}
