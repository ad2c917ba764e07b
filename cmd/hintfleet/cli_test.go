package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// result is one in-process run of the CLI, as main would end it.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI in-process through execute, as main does.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(t.Context(), args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// commandPaths lists the argument paths of every command under root.
func commandPaths(c *cobra.Command, path []string) [][]string {
	paths := [][]string{path}
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		paths = append(paths, commandPaths(sub, append(append([]string(nil), path...), sub.Name()))...)
	}
	return paths
}

// TestHelpRenders: every command's --help succeeds and shows its usage
// line and its description.
func TestHelpRenders(t *testing.T) {
	paths := commandPaths(newRootCmd(), nil)
	if len(paths) < 20 {
		t.Fatalf("walked %d commands, want the whole tree", len(paths))
	}
	root := newRootCmd()
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"hintfleet"}, p...), " "), func(t *testing.T) {
			c, _, err := root.Find(p)
			if err != nil {
				t.Fatal(err)
			}
			r := cli(t, append(p, "--help")...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, c.CommandPath()) {
				t.Errorf("help lacks the usage of %q:\n%s", c.CommandPath(), r.stdout)
			}
			desc := c.Long
			if desc == "" {
				desc = c.Short
			}
			if first, _, _ := strings.Cut(desc, "\n"); !strings.Contains(r.stdout, first) {
				t.Errorf("help lacks the description %q:\n%s", first, r.stdout)
			}
		})
	}
}

// writeFile writes content under the test's temp dir and returns the path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadInput: bad flags and missing inputs exit 1 with one line on
// stderr that says what is wrong, and print nothing on stdout.
func TestBadInput(t *testing.T) {
	ps := fleettest.Problems(2)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, sim := fleettest.StartSim(t, ps, nil)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"infer", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{"bad flag value", []string{"infer", "--samples", "many"}, `invalid argument "many"`},
		{"infer without dataset", []string{"infer"}, "no --dataset given"},
		{"infer without engine", []string{"infer", "--dataset", problems}, "no --engine given"},
		{"infer bad trigger mode", []string{"infer", "--dataset", problems, "--trigger-mode", "sometimes"}, `hint flags:`},
		{"infer zero samples", []string{"infer", "--dataset", problems, "--engine", sim.BaseURL(), "--no-tools",
			"--samples", "0", "--out", filepath.Join(dir, "t.jsonl")}, "samples 0: want >= 1"},
		{"infer zero concurrency", []string{"infer", "--dataset", problems, "--engine", sim.BaseURL(), "--no-tools",
			"--concurrency", "0", "--out", filepath.Join(dir, "t.jsonl")}, "concurrency 0: want >= 1"},
		{"infer negative limit", []string{"infer", "--dataset", problems, "--limit", "-3"}, "limit -3: want >= 0"},
		{"infer zero max tokens", []string{"infer", "--dataset", problems, "--max-tokens", "0"}, "--max-tokens 0: want >= 1"},
		{"infer negative tool calls", []string{"infer", "--dataset", problems, "--max-tool-calls", "-2"}, "--max-tool-calls -2: want >= 0"},
		{"infer zero top-p", []string{"infer", "--dataset", problems, "--top-p", "0"}, "--top-p 0: want 0 < p <= 1"},
		{"submit zero trigger-k", []string{"submit", problems, "--model", "m", "--trigger-k", "0"}, "--trigger-k 0: want >= 1"},
		{"submit without problems", []string{"submit"}, "give exactly one of FILE or --dataset NAME"},
		{"submit with a library file", []string{"submit", problems, "--hints", problems, "--model", "m"}, `field "hints"`},
		{"submit to no fleet", []string{"submit", problems, "--api", "http://127.0.0.1:1"}, "(the coordinator named by --api http://127.0.0.1:1)"},
		{"cancel without job", []string{"cancel"}, "accepts 1 arg(s), received 0"},
		{"up without data", []string{"up"}, "--data DIR is required"},
		{"up bad log level", []string{"up", "--data", dir, "--log-level", "loud"}, `--log-level "loud"`},
		{"coordinator without data", []string{"coordinator"}, "--data DIR is required"},
		{"worker without cluster", []string{"worker"}, "cannot find the fleet"},
		{"worker bad endpoints", []string{"worker", "--endpoints", problems}, problems + ":"},
		{"curate without input", []string{"curate"}, "no --in trajectories given"},
		{"curate bad repetition", []string{"curate", "--in", problems, "--out", dir, "--repetition", "2"}, "repetition 2: want 0..1"},
		{"rft without input", []string{"rft"}, "no --in trajectories given"},
		{"grade without answer", []string{"grade"}, "give --answer and --reference, or --file"},
		{"summary without files", []string{"summary"}, "no runs given"},
		{"inspect unknown name", []string{"datasets", "inspect", "no-such-dataset"}, "not a file"},
		{"report bad run", []string{"report", "--run", "nolabel", "--out", filepath.Join(dir, "r.html")}, "want LABEL=FILE"},
		{"plugins exec without language", []string{"plugins", "exec"}, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
			}
			line := strings.TrimSuffix(r.stderr, "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "hintfleet: ") {
				t.Errorf("stderr %q: want one line starting \"hintfleet: \"", r.stderr)
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q: want it to say %q", line, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q: want nothing", r.stdout)
			}
		})
	}
}

// jsonOf parses out as JSON of the shape of v, strictly enough to catch a
// table or log line mixed in.
func jsonOf[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", r.stdout)
	}
	return v
}

// TestJSONOutputs: the offline commands' --json output parses and holds
// what it should: infer against a simulated engine, then summary, curate
// and rft on what infer wrote, grade, datasets inspect and gpu list.
func TestJSONOutputs(t *testing.T) {
	ps := fleettest.Problems(3)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, sim := fleettest.StartSim(t, ps, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "hinted.jsonl")

	sum := jsonOf[map[string]any](t, cli(t, "infer", "--dataset", problems, "--engine", sim.BaseURL(), "--no-tools",
		"--samples", "2", "--out", out, "--json"))
	if sum["tasks"] != 6.0 || sum["trajectories"] != 6.0 || sum["accuracy"] == nil {
		t.Errorf("infer --json = %v, want 6 tasks, 6 trajectories and the accuracy", sum)
	}
	sums := jsonOf[[]map[string]any](t, cli(t, "summary", "hinted="+out, "--json"))
	if len(sums) != 1 || sums[0]["label"] != "hinted" || sums[0]["trajectories"] != 6.0 {
		t.Errorf("summary --json = %v, want one summary labelled hinted of 6 trajectories", sums)
	}
	// summary takes its runs as report does too (--run LABEL=FILE), the
	// same summaries either way (finding 13 of issue 16).
	if byFlag := jsonOf[[]map[string]any](t, cli(t, "summary", "--run", "hinted="+out, "--json")); !reflect.DeepEqual(byFlag, sums) {
		t.Errorf("summary --run = %v, want %v as from the argument", byFlag, sums)
	}
	seed := filepath.Join(dir, "seed")
	rep := jsonOf[map[string]any](t, cli(t, "curate", "--in", out, "--out", seed, "--keep-ungraded", "--json"))
	if rep["funnel"] == nil {
		t.Errorf("curate --json = %v, want the funnel", rep)
	}
	if _, err := os.Stat(filepath.Join(seed, "curation.json")); err != nil {
		t.Errorf("curate wrote no curation.json: %v", err)
	}
	rft := jsonOf[map[string]any](t, cli(t, "rft", "--in", out, "--out", filepath.Join(dir, "rft.jsonl"), "--json"))
	if rft["stats"] == nil {
		t.Errorf("rft --json = %v, want stats", rft)
	}
	v := jsonOf[struct {
		Verdict struct{ Equal bool }
	}](t, cli(t, "grade", "--answer", `\frac{1}{2}`, "--reference", "0.5", "--json"))
	if !v.Verdict.Equal {
		t.Errorf("grade --json = %v, want equal", v)
	}
	in := jsonOf[map[string]any](t, cli(t, "datasets", "inspect", problems, "--json"))
	if in["rows"] != 3.0 {
		t.Errorf("datasets inspect --json = %v, want 3 rows", in)
	}
	devs := jsonOf[[]map[string]any](t, cli(t, "gpu", "list", "--simulate-gpus", "2", "--json"))
	if len(devs) != 2 {
		t.Errorf("gpu list --simulate-gpus 2 --json = %v, want 2 devices", devs)
	}
}

// TestFleetJSON: submit, jobs, status and cancel print JSON that parses,
// against a real coordinator on embedded etcd and NATS (no worker, so the
// job stays queued until cancelled).
func TestFleetJSON(t *testing.T) {
	env := clustertest.Start(t)
	url, _ := fleettest.StartCoordinator(t, env.Connect(t), t.TempDir(), time.Minute)
	api := []string{"--api", url, "--json"}
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(fleettest.Problems(2)))

	job := jsonOf[map[string]any](t, cli(t, append([]string{"submit", problems, "--model", "m", "--id", "j1"}, api...)...))
	if job["id"] != "j1" {
		t.Fatalf("submit --json = %v, want job j1", job)
	}
	jobs := jsonOf[[]map[string]any](t, cli(t, append([]string{"jobs"}, api...)...))
	if len(jobs) != 1 || jobs[0]["id"] != "j1" {
		t.Errorf("jobs --json = %v, want j1", jobs)
	}
	st := jsonOf[map[string]any](t, cli(t, append([]string{"status"}, api...)...))
	if st["api"] != url || st["jobs"] == nil || st["health"] == nil {
		t.Errorf("status --json = %v, want api, health and jobs", st)
	}
	one := jsonOf[map[string]any](t, cli(t, append([]string{"status", "j1"}, api...)...))
	if one["id"] != "j1" {
		t.Errorf("status j1 --json = %v", one)
	}
	cancelled := jsonOf[map[string]any](t, cli(t, append([]string{"cancel", "j1"}, api...)...))
	if cancelled["state"] != string(coordinator.JobCancelled) {
		t.Errorf("cancel --json = %v, want state cancelled", cancelled)
	}
	if r := cli(t, append([]string{"status", "nope"}, api...)...); r.code != 1 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("status of an unknown job: exit %d, stderr %q; want 1 naming it", r.code, r.stderr)
	}
}

// TestLogsHaveNoNil: the fleet commands' log leaves out attributes that
// are nil, so that no line says err=<nil> or cause=<nil> (issue 18
// finding 15); before, "fleet down err=<nil>" ended every clean stop.
func TestLogsHaveNoNil(t *testing.T) {
	var buf strings.Builder
	cmd := newRootCmd()
	cmd.SetErr(&buf)
	lf := logFlags{level: "info"}
	log, err := lf.logger(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var noErr error
	log.Info("fleet down", "err", noErr, "cause", nil, "workers", 2)
	if got := buf.String(); strings.Contains(got, "<nil>") || !strings.Contains(got, "workers=2") {
		t.Errorf("log line %q: want workers=2 and no <nil>", got)
	}
}

// TestHelpIsTrue: no flag's help holds a back-quote, which pflag takes as
// the value's name (--data showed as "--data hintfleet up"), and submit
// offers no FILE for --hints or --template, which a job cannot carry
// (issue 18 finding 10).
func TestHelpIsTrue(t *testing.T) {
	for _, path := range commandPaths(newRootCmd(), nil) {
		root := newRootCmd()
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				name, _ := pflag.UnquoteUsage(f)
				t.Errorf("%s --%s: help has back-quotes, shown as value name %q", strings.Join(path, " "), f.Name, name)
			}
		})
	}
	submit, _, _ := newRootCmd().Find([]string{"submit"})
	for _, name := range []string{"hints", "template"} {
		if u := submit.Flags().Lookup(name).Usage; strings.Contains(u, "FILE") {
			t.Errorf("submit --%s offers a file a job cannot carry: %q", name, u)
		}
	}
}

// TestVersionJSON: version prints JSON with --json, snake_case keys
// (issue 18 finding 13: version had no --json).
func TestVersionJSON(t *testing.T) {
	v := jsonOf[map[string]string](t, cli(t, "version", "--json"))
	if v["version"] == "" || v["go"] == "" || v["commit"] == "" {
		t.Errorf("version --json = %v, want version, commit and go", v)
	}
}
