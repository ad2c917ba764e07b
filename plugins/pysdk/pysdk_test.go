package pysdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/plugins/plugintest"
	toolpb "github.com/hintfleet/hintfleet/plugins/proto"
)

// debianPython has python3-grpcio, python3-protobuf and
// python3-cryptography (make deps); the python3 on PATH may not.
const debianPython = "/usr/bin/python3"

func needPython(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s missing on CI: run `make deps`", debianPython)
		}
		tb.Skipf("%s missing: the Python SDK's tests need Debian's python3 with grpcio, protobuf and cryptography", debianPython)
	}
}

// start runs the Python tool at path as a plugin of a real host,
// checksummed, until the test ends.
func start(t *testing.T, path string, env ...string) *host.Manager {
	t.Helper()
	needPython(t)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(abs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	m, err := host.New(ctx, []host.PluginConfig{{Name: strings.TrimSuffix(filepath.Base(path), ".py"), Path: abs, SHA256: sum, Env: env}})
	if err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func tool(t *testing.T, m *host.Manager, lang string) plugins.Tool {
	t.Helper()
	tl, ok := m.Tool(lang)
	if !ok {
		t.Fatalf("no tool for %s; have %v", lang, m.Languages())
	}
	return tl
}

// TestExampleSQLite: the 30-line example is a working, stateful tool.
func TestExampleSQLite(t *testing.T) {
	src, err := os.ReadFile("examples/sqlite_tool.py")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), "\n"); n > 30 {
		t.Errorf("examples/sqlite_tool.py has %d lines; the SDK promises a tool in 30", n)
	}
	if readme, err := os.ReadFile("../README.md"); err != nil || !strings.Contains(string(readme), "```python\n"+string(src)+"```") {
		t.Errorf("plugins/README.md does not show examples/sqlite_tool.py as it is (%v): keep them the same", err)
	}
	m := start(t, "examples/sqlite_tool.py")
	sql := tool(t, m, "SQL")
	ctx := t.Context()
	sid, err := sql.Open(ctx, plugins.OpenRequest{Trajectory: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, code, stdout string
		exit               int
		stderr             string
	}{
		{"statements and rows", "CREATE TABLE t(x INT, s TEXT); INSERT INTO t VALUES (1, 'a;b'), (2, 'c');\nSELECT x, s FROM t ORDER BY x;", "1|a;b\n2|c\n", 0, ""},
		{"state kept in the session", "SELECT sum(x) FROM t", "3\n", 0, ""},
		{"an error is the code's", "SELECT nope FROM t;", "", 1, "no such column"},
		{"no files reached", "ATTACH DATABASE '/tmp/x.db' AS x;", "", 1, "not authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sql.Exec(ctx, plugins.ExecRequest{Session: sid, Code: tt.code, Lang: "sql"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stdout != tt.stdout || res.ExitCode != tt.exit || !strings.Contains(res.Stderr, tt.stderr) {
				t.Fatalf("got stdout %q exit %d stderr %q; want %q, %d, stderr with %q", res.Stdout, res.ExitCode, res.Stderr, tt.stdout, tt.exit, tt.stderr)
			}
		})
	}
	other, err := sql.Open(ctx, plugins.OpenRequest{Trajectory: "t2"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sql.Exec(ctx, plugins.ExecRequest{Session: other, Code: "SELECT * FROM t"}); err != nil || res.ExitCode != 1 {
		t.Errorf("another session sees the first one's table: %+v, %v", res, err)
	}
	if err := sql.Close(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Exec(ctx, plugins.ExecRequest{Session: sid, Code: "SELECT 1"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("exec on a closed session: %v, want ErrUnknownSession", err)
	}
}

// TestSDKPaths: every way a tool answers reaches the host as the Go side
// means it, and a stop is graceful (the tool's shutdown hook runs).
func TestSDKPaths(t *testing.T) {
	stopped := filepath.Join(t.TempDir(), "stopped")
	m := start(t, "testdata/probe_tool.py", "PROBE_STOPPED="+stopped)
	probe := tool(t, m, "probe2")
	ctx := t.Context()
	d, err := probe.Describe(ctx)
	if err != nil || d.Name != "probe" || d.Version != "1.2.3" || d.Limits.Timeout != 7500*time.Millisecond ||
		d.Limits.OutputBytes != 1000 || d.Limits.MemoryBytes != 1<<20 || strings.Join(d.Languages, ",") != "probe,probe2" {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	sid, err := probe.Open(ctx, plugins.OpenRequest{Trajectory: "traj-1", Stateless: true, TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(code string, timeout time.Duration) (plugins.ExecResult, error) {
		return probe.Exec(ctx, plugins.ExecRequest{Session: sid, Code: code, Lang: "probe2", Timeout: timeout})
	}
	if res, err := exec("echo", 2*time.Second); err != nil || res.Stdout != "probe2|2.0|True|traj-1|90.0" || res.Duration <= 0 {
		t.Errorf("echo: %+v, %v; want the request's fields and a measured duration", res, err)
	}
	res, err := exec("big 5000", 0)
	if err != nil || len(res.Stdout) != 1000 || !res.StdoutTruncated || len(res.Stderr) != 1000 || !res.StderrTruncated || res.ExitCode != 3 {
		t.Errorf("big: stdout %d bytes (truncated %v), stderr %d (%v), exit %d, %v; want both cut at output_bytes 1000",
			len(res.Stdout), res.StdoutTruncated, len(res.Stderr), res.StderrTruncated, res.ExitCode, err)
	}
	if res, err := exec("timeout", 0); err != nil || res.ErrorKind != plugins.KindTimeout || res.Error != "too slow" || res.Duration != 1500*time.Millisecond {
		t.Errorf("timeout: %+v, %v", res, err)
	}
	for _, tt := range []struct {
		code string
		want error
		text string
	}{
		{"invalid", plugins.ErrInvalidRequest, "bad code"},
		{"unavailable", plugins.ErrUnavailable, "busy"},
		{"boom", nil, "RuntimeError: boom"},
		{"notresult", nil, "want hintfleet_tool.Result"},
	} {
		_, err := exec(tt.code, 0)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: error %v; want %v with %q", tt.code, err, tt.want, tt.text)
		}
	}
	if _, err := probe.Exec(ctx, plugins.ExecRequest{Session: "nope", Code: "echo"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("unknown session: %v", err)
	}
	m.Close()
	if b, err := os.ReadFile(stopped); err != nil || string(b) != "stopped\n" {
		t.Errorf("the tool's shutdown hook did not run on the host's stop (%v): the stop was not graceful", err)
	}
}

// TestRunByHand: without the host the plugin says what it is and exits 1.
func TestRunByHand(t *testing.T) {
	needPython(t)
	out, err := exec.CommandContext(t.Context(), debianPython, "examples/sqlite_tool.py").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "hintfleet tool plugin") {
		t.Fatalf("run by hand: %v, %q; want exit 1 saying it is a plugin", err, out)
	}
}

// TestAgreesWithGo: the SDK's handshake constants are Go's, and its
// generated messages have the fields the Go side sends (a field added to
// tool.proto without `make proto` fails here).
func TestAgreesWithGo(t *testing.T) {
	needPython(t)
	src, err := os.ReadFile("hintfleet_tool.py")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"COOKIE_KEY": `"` + plugins.MagicCookieKey + `"`, "COOKIE_VALUE": `"` + plugins.MagicCookieValue + `"`,
		"APP_PROTOCOL_VERSION": "1",
	} {
		m := regexp.MustCompile(`(?m)^` + name + ` = (.+)$`).FindSubmatch(src)
		if m == nil || string(m[1]) != want {
			t.Errorf("hintfleet_tool.py %s = %q, want %s (plugins/handshake.go)", name, m, want)
		}
	}
	if plugins.ProtocolVersion != 1 {
		t.Errorf("plugins.ProtocolVersion is %d: update APP_PROTOCOL_VERSION in hintfleet_tool.py", plugins.ProtocolVersion)
	}
	script := `import json, sys; sys.path.insert(0, "."); import tool_pb2
print(json.dumps({n: sorted(f.name for f in m.fields) for n, m in tool_pb2.DESCRIPTOR.message_types_by_name.items()}))`
	out, err := exec.CommandContext(t.Context(), debianPython, "-c", script).Output()
	if err != nil {
		t.Fatalf("load tool_pb2: %v", err)
	}
	var py map[string][]string
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatal(err)
	}
	msgs := toolpb.File_plugins_proto_tool_proto.Messages()
	for i := range msgs.Len() {
		md := msgs.Get(i)
		var fields []string
		for j := range md.Fields().Len() {
			fields = append(fields, string(md.Fields().Get(j).Name()))
		}
		if got, want := strings.Join(py[string(md.Name())], ","), strings.Join(slices.Sorted(slices.Values(fields)), ","); got != want {
			t.Errorf("message %s: tool_pb2 has fields %q, Go has %q: run `make proto`", md.Name(), got, want)
		}
	}
}

// TestConformance runs the host's conformance cases (round trip, restart
// after SIGKILL with stale sessions refused, checksum refused alone, config
// languages, an expired ctx) against the SDK's example tool.
func TestConformance(t *testing.T) {
	needPython(t)
	path, err := filepath.Abs("examples/sqlite_tool.py")
	if err != nil {
		t.Fatal(err)
	}
	plugintest.Run(t, plugintest.Case{
		Spec:     host.PluginConfig{Name: "sqlite", Path: path},
		Lang:     "SQL",
		Describe: "sqlite",
		Calls: []plugintest.Call{
			{Code: "CREATE TABLE t(x); INSERT INTO t VALUES (41);", Stdout: ""},
			{Code: "SELECT x + 1 FROM t;", Stdout: "42\n"},
		},
	})
}
