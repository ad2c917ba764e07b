package infer_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
)

// binDir holds what the tests build once per test binary (the python
// plugin); TestMain makes it and removes it after every test and benchmark.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "infer-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// debianPython is the interpreter with numpy and sympy that the sandboxed
// plugin runs and that the tests re-run the sim's code with.
const debianPython = "/usr/bin/python3"

var (
	pluginMu    sync.Mutex
	pluginBuilt = map[string]string{}
)

// pluginBinary builds ./plugins/cmd/<name> into binDir the first time it is
// asked for, so the test sees the tree's plugin, not whatever bin/plugins
// holds.
func pluginBinary(name string) (string, error) {
	pluginMu.Lock()
	defer pluginMu.Unlock()
	if out, ok := pluginBuilt[name]; ok {
		return out, nil
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/hintfleet/hintfleet/plugins/cmd/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", name, err, b)
	}
	pluginBuilt[name] = out
	return out, nil
}

// pythonPluginBinary is the tree's hintfleet-python.
func pythonPluginBinary() (string, error) { return pluginBinary("hintfleet-python") }

// needSandbox skips where the sandboxed interpreter cannot run: no
// bubblewrap or no Debian Python. On CI (CI set) their absence is a failure,
// since `make deps` installs both.
func needSandbox(tb testing.TB) {
	tb.Helper()
	for _, p := range []string{"/usr/bin/bwrap", debianPython} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				tb.Fatalf("%s missing on CI: run `make deps`", p)
			}
			tb.Skipf("%s missing: the sandboxed python plugin cannot run here (apt install bubblewrap python3-numpy python3-sympy)", p)
		}
	}
}

// startPython starts the real sandboxed python plugin through the plugin
// host, checksummed as in production; the manager is closed at cleanup.
func startPython(tb testing.TB, pool int) *host.Manager {
	tb.Helper()
	needSandbox(tb)
	bin, err := pythonPluginBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return startPlugin(tb, "python", bin, "--python", debianPython, "--pool", fmt.Sprint(pool), "--log-level", "warn")
}

// simConfig is an engine that knows problems and runs speedup times faster
// than the simulated GPU.
func simConfig(problems []trajectory.Problem, speedup float64) sim.Config {
	cfg := sim.DefaultConfig()
	cfg.Problems = problems
	cfg.Speedup = speedup
	cfg.Reasoner.ReasoningTokens = 200
	return cfg
}

// startSim serves cfg on a loopback port until cleanup.
func startSim(tb testing.TB, cfg sim.Config) (*sim.Server, string) {
	tb.Helper()
	srv, err := sim.New(cfg)
	if err != nil {
		tb.Fatalf("sim.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	url, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		srv.Close()
		tb.Fatalf("sim Start: %v", err)
	}
	tb.Cleanup(func() {
		cancel()
		srv.Close()
	})
	return srv, url
}

// newClient is an engine client for the sim at url.
func newClient(tb testing.TB, url string, opts ...engine.Option) *engine.Client {
	tb.Helper()
	c, err := engine.New(url, append([]engine.Option{engine.WithModel(sim.DefaultModel)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// newEngines spreads over clients for urls.
func newEngines(tb testing.TB, urls ...string) *infer.Engines {
	tb.Helper()
	var cs []*engine.Client
	for _, u := range urls {
		cs = append(cs, newClient(tb, u))
	}
	e, err := infer.NewEngines(cs, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// loadProblems returns the first n problems of a named dataset (the copy
// in the binary unless $HINTFLEET_DATASETS names another).
func loadProblems(tb testing.TB, name string, n int) []trajectory.Problem {
	tb.Helper()
	ps, err := trajectory.LoadDataset(name, "")
	if err != nil {
		tb.Fatalf("dataset %s: %v", name, err)
	}
	if len(ps) < n {
		tb.Fatalf("dataset %s has %d problems, want %d", name, len(ps), n)
	}
	return ps[:n]
}

// paperHints is `--hints paper` as the CLI builds it.
func paperHints() hint.Config {
	return hint.Config{Policy: hint.Policy{Mode: hint.TriggerEvery, K: 1, UntilToolCall: true}}
}

// noHints is `--hints none`.
func noHints() hint.Config {
	return hint.Config{Policy: hint.Policy{Mode: hint.TriggerNone}, MaxHints: -1}
}

// readTrajectories reads a whole output file.
func readTrajectories(tb testing.TB, path string) []trajectory.Trajectory {
	tb.Helper()
	r, err := trajectory.OpenReader[trajectory.Trajectory](path)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var out []trajectory.Trajectory
	for {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, t)
	}
}

// countLines counts the lines of path.
func countLines(tb testing.TB, path string) int {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// brokenRouter is a tool plugin that never runs the code: every call
// returns a traceback, as a plugin whose interpreter is broken would. It
// stands in for "the tool broken" in tests that show answers depend on it.
type brokenRouter struct{ emptyStdout bool }

func (b brokenRouter) Tool(lang string) (plugins.Tool, bool) {
	if lang != "python" && lang != "py" {
		return nil, false
	}
	return brokenTool(b), true
}

func (brokenRouter) Languages() []string { return []string{"python"} }

type brokenTool struct{ emptyStdout bool }

func (brokenTool) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Name: "broken", Languages: []string{"python"}}, nil
}

func (brokenTool) Open(context.Context, plugins.OpenRequest) (string, error) { return "s", nil }

func (b brokenTool) Exec(context.Context, plugins.ExecRequest) (plugins.ExecResult, error) {
	if b.emptyStdout {
		return plugins.ExecResult{}, nil
	}
	return plugins.ExecResult{
		Stderr:   "Traceback (most recent call last):\n  File \"<cell>\", line 1\nRuntimeError: interpreter unavailable",
		ExitCode: 1,
	}, nil
}

func (brokenTool) Close(context.Context, string) error { return nil }

// codeOf returns the code of a code step: the text between its opening
// fence line and its closing fence, as hint passes it to the tool.
func codeOf(step string) string {
	_, body, ok := strings.Cut(step, "\n")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSuffix(body, "```"), "\n")
}

// outputOf returns the content of an output step ("\n```output\nX\n```\n").
func outputOf(step string) string {
	s := strings.TrimPrefix(step, "\n")
	s = strings.TrimPrefix(s, "```output\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(strings.TrimSuffix(s, "```"), "\n")
}
