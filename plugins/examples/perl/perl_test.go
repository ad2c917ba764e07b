package perl_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/examples/perl"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/plugins/plugintest"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

func TestPerlTool(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap missing: make deps installs bubblewrap")
	}
	tool, err := perl.New(t.Context())
	if errors.Is(err, sandbox.ErrNoSandbox) {
		t.Skipf("no sandbox here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	sid, err := tool.Open(ctx, plugins.OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, code string
		timeout    time.Duration
		stdout     string
		exit       int
		kind       plugins.ErrorKind
		stderr     string
	}{
		{name: "prints", code: `print 6*7, "\n"`, stdout: "42\n"},
		{name: "as nobody", code: `print "$<\n"`, stdout: "65534\n"},
		{name: "exit status", code: `print STDERR "bad\n"; exit 3`, exit: 3, stderr: "bad\n"},
		{name: "no host files", code: `open(my $f, "<", "/etc/passwd") or print "no passwd\n"`, stdout: "no passwd\n"},
		{name: "time limit", code: `1 while 1`, timeout: 300 * time.Millisecond, exit: -1, kind: plugins.KindTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sid, Code: tt.code, Timeout: tt.timeout, Lang: "perl"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stdout != tt.stdout || res.ExitCode != tt.exit || res.ErrorKind != tt.kind || !strings.Contains(res.Stderr, tt.stderr) {
				t.Fatalf("got %+v; want stdout %q exit %d kind %q stderr %q", res, tt.stdout, tt.exit, tt.kind, tt.stderr)
			}
		})
	}
	if err := tool.Close(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := tool.Exec(ctx, plugins.ExecRequest{Session: sid, Code: "1"}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Fatalf("exec after close: %v", err)
	}
}

// TestConformance builds the plugin main of plugins/README.md's walk-through
// (testdata/hintfleet-perl, the README's text) and runs the host's
// conformance cases against it, as a tool author's test would.
func TestConformance(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap missing: make deps installs bubblewrap")
	}
	main, err := os.ReadFile("testdata/hintfleet-perl/main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(main)+"```") {
		t.Error("plugins/README.md no longer shows testdata/hintfleet-perl/main.go as it is: keep them the same")
	}
	plugintest.Run(t, plugintest.Case{
		Spec:     host.PluginConfig{Name: "perl", Path: plugintest.Build(t, "./testdata/hintfleet-perl")},
		Lang:     "PERL",
		Describe: "perl",
		Calls:    []plugintest.Call{{Code: `print 6*7, "\n"`, Stdout: "42\n"}, {Code: `print "again\n"`, Stdout: "again\n"}},
	})
}
