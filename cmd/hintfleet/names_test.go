package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// concepts are the flags more than one command takes, by their one name,
// with the spellings some commands used before (kept as hidden,
// deprecated aliases for one release).
var concepts = []struct {
	name string
	old  []string
}{
	{flagDatasetsDir, []string{"dir"}},
	{flagPluginsDir, []string{"dir"}},
	{flagPluginsConfig, []string{"config"}},
	{flagSimulateGPUs, []string{"simulate"}},
}

// walk calls fn for every command under c, with its argument path.
func walk(c *cobra.Command, path []string, fn func([]string, *cobra.Command)) {
	fn(path, c)
	for _, sub := range c.Commands() {
		walk(sub, append(slices.Clone(path), sub.Name()), fn)
	}
}

// TestOneNamePerConcept: no command shows an old spelling of a concept
// (an old name is only ever a hidden, deprecated alias of the canonical
// flag on the same command, sharing its value), and the commands that
// once used the old spellings take the canonical names.
func TestOneNamePerConcept(t *testing.T) {
	seen := map[string][]string{}
	walk(newRootCmd(), nil, func(path []string, c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			for _, k := range concepts {
				if !slices.Contains(k.old, f.Name) {
					continue
				}
				canon := c.Flags().Lookup(k.name)
				if canon == nil {
					continue // a different concept that happens to share the old word
				}
				a, ok := f.Value.(*aliasValue)
				if !f.Hidden || !ok || a.Value != canon.Value {
					t.Errorf("%s: --%s is shown or not an alias of --%s (hidden %v)",
						strings.Join(path, " "), f.Name, k.name, f.Hidden)
				}
			}
			seen[f.Name] = append(seen[f.Name], strings.Join(path, " "))
		})
	})
	for _, want := range []struct{ cmd, flag string }{
		{"datasets inspect", flagDatasetsDir},
		{"infer", flagDatasetsDir},
		{"plugins list", flagPluginsDir},
		{"plugins list", flagPluginsConfig},
		{"plugins exec", flagPluginsDir},
		{"infer", flagPluginsDir},
		{"gpu list", flagSimulateGPUs},
		{"gpu exporter", flagSimulateGPUs},
	} {
		if !slices.Contains(seen[want.flag], want.cmd) {
			t.Errorf("%s has no --%s (commands with it: %v)", want.cmd, want.flag, seen[want.flag])
		}
	}
}

// TestOldFlagNamesStillParse: an old spelling still works, with a
// deprecation warning on stderr, and sets what the new one sets.
func TestOldFlagNamesStillParse(t *testing.T) {
	for _, tc := range []struct {
		old, new []string
		warn     string
	}{
		{
			old:  []string{"gpu", "list", "--simulate", "2", "--json"},
			new:  []string{"gpu", "list", "--simulate-gpus", "2", "--json"},
			warn: "--simulate has been deprecated, use --simulate-gpus",
		},
		{
			old:  []string{"plugins", "list", "--dir", t.TempDir(), "--json"},
			new:  []string{"plugins", "list", "--plugins-dir", t.TempDir(), "--json"},
			warn: "--dir has been deprecated, use --plugins-dir",
		},
	} {
		t.Run(strings.Join(tc.old, " "), func(t *testing.T) {
			o, n := cli(t, tc.old...), cli(t, tc.new...)
			if o.code != n.code || o.stdout != n.stdout {
				t.Errorf("old spelling: exit %d %q; new: exit %d %q", o.code, o.stdout, n.code, n.stdout)
			}
			if !strings.Contains(o.stderr, tc.warn) {
				t.Errorf("old spelling's stderr %q lacks %q", o.stderr, tc.warn)
			}
			if strings.Contains(n.stderr, "deprecated") {
				t.Errorf("new spelling warns: %q", n.stderr)
			}
		})
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkKeys fails for every object key in v that is not snake_case, as
// every other --json output spells them.
func checkKeys(t *testing.T, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", where, k)
			}
			checkKeys(t, where+"."+k, e)
		}
	case []any:
		for _, e := range v {
			checkKeys(t, where, e)
		}
	}
}

// TestGPUListJSONKeys: gpu list --json keys are snake_case
// ("memory_total_bytes", not Go's "MemoryTotalBytes").
func TestGPUListJSONKeys(t *testing.T) {
	devs := jsonOf[[]any](t, cli(t, "gpu", "list", "--simulate-gpus", "2", "--json"))
	if len(devs) != 2 {
		t.Fatalf("gpu list --json = %v, want 2 devices", devs)
	}
	checkKeys(t, "gpu list --json", devs)
	if d, _ := devs[0].(map[string]any); d["memory_total_bytes"] == nil || d["uuid"] == nil {
		t.Errorf("gpu list --json device = %v, want memory_total_bytes and uuid", d)
	}
}

// TestInferResumedWord: a rerun of infer on its own output says
// "resumed" in both its table and its --json, with the same count.
func TestInferResumedWord(t *testing.T) {
	ps := fleettest.Problems(2)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(ps))
	_, sim := fleettest.StartSim(t, ps, nil)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	args := []string{"infer", "--dataset", problems, "--engine", sim.BaseURL(), "--no-tools", "--out", out}
	if r := cli(t, args...); r.code != 0 {
		t.Fatalf("infer: exit %d: %s", r.code, r.stderr)
	}
	table := cli(t, args...)
	if table.code != 0 || !regexp.MustCompile(`(?m)^\s*resumed\s+2\s*$`).MatchString(table.stdout) {
		t.Errorf("infer rerun table (exit %d) has no \"resumed 2\" row:\n%s", table.code, table.stdout)
	}
	sum := jsonOf[map[string]any](t, cli(t, append(args, "--json")...))
	if sum["resumed"] != 2.0 {
		t.Errorf("infer rerun --json = %v, want \"resumed\": 2", sum)
	}
	if _, ok := sum["skipped"]; ok {
		t.Errorf("infer --json still has \"skipped\": %v", sum)
	}
}
