// Package plugintest runs the host's conformance cases against any tool
// plugin binary, the way hintfleet will run it: through plugins/host's
// Manager (go-plugin handshake, AutoMTLS, checksum, health checks,
// restarts). A tool author's test is one call:
//
//	func TestConformance(t *testing.T) {
//		plugintest.Run(t, plugintest.Case{
//			Spec:     host.PluginConfig{Name: "mytool", Path: "bin/plugins/mytool"},
//			Lang:     "mylang",
//			Describe: "mytool",
//			Calls:    []plugintest.Call{{Code: "1+1", Stdout: "2\n"}},
//		})
//	}
//
// The binary may be written in any language; Build compiles a Go main
// package to a temporary binary first. The cases: a round trip (Describe,
// Open, the calls in one session, Close, then ErrUnknownSession; the
// checksum given in upper-case hex); a SIGKILLed plugin restarted, with
// its old sessions refused as stale; a checksum that does not match, or is
// missing, refusing that plugin alone while a good copy beside it keeps
// serving; the config's languages replacing the plugin's own; and a call
// whose ctx has expired.
package plugintest

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/host"
)

// Case is one plugin and what it must answer.
type Case struct {
	// Spec starts the plugin. An empty SHA256 is computed from the file.
	Spec host.PluginConfig
	// Lang is a fence language the plugin serves (any case).
	Lang string
	// Describe is the name Describe must report.
	Describe string
	// Calls run in order in one session; each must end with no error kind
	// and exactly this stdout. At least one.
	Calls []Call
}

// Call is one block of code and the stdout it must print.
type Call struct {
	Code   string
	Stdout string
}

// Run runs every conformance case against c as subtests of t.
func Run(t *testing.T, c Case) {
	t.Helper()
	if len(c.Calls) == 0 {
		t.Fatal("plugintest: a Case needs at least one Call")
	}
	if c.Spec.SHA256 == "" {
		sum, err := host.FileSHA256(c.Spec.Path)
		if err != nil {
			t.Fatal(err)
		}
		c.Spec.SHA256 = sum
	}
	t.Run("round trip", func(t *testing.T) { roundTrip(t, c) })
	t.Run("restart after kill", func(t *testing.T) { restart(t, c) })
	t.Run("checksum refused alone", func(t *testing.T) { checksum(t, c) })
	t.Run("config languages", func(t *testing.T) { configLanguages(t, c) })
	t.Run("expired ctx", func(t *testing.T) { expired(t, c) })
}

// Build compiles the Go main package pkg (an import path or a directory)
// into a temporary binary and returns its path, for a Case of a plugin
// built as `make plugins` builds it.
func Build(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// NewManager starts a manager on specs with fast health checks and
// restarts, closed at cleanup.
func NewManager(t *testing.T, specs []host.PluginConfig, opts ...host.Option) *host.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts = append([]host.Option{host.WithHealthInterval(50 * time.Millisecond), host.WithBackoff(20*time.Millisecond, 200*time.Millisecond)}, opts...)
	m, err := host.New(ctx, specs, opts...)
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// calls runs c's calls in session sess and checks each.
func calls(t *testing.T, tool plugins.Tool, sess string, c Case) {
	t.Helper()
	for _, call := range c.Calls {
		res, err := tool.Exec(ctxFor(t), plugins.ExecRequest{Session: sess, Code: call.Code, Lang: strings.ToLower(c.Lang)})
		if err != nil {
			t.Fatalf("Exec(%q): %v", call.Code, err)
		}
		if res.Stdout != call.Stdout || res.ErrorKind != plugins.KindNone {
			t.Errorf("Exec(%q) = stdout %q kind %q (%s) stderr %q; want %q", call.Code, res.Stdout, res.ErrorKind, res.Error, res.Stderr, call.Stdout)
		}
	}
}

func roundTrip(t *testing.T, c Case) {
	ctx := ctxFor(t)
	spec := c.Spec
	spec.SHA256 = strings.ToUpper(spec.SHA256) // hex in any case
	m := NewManager(t, []host.PluginConfig{spec})
	tool, err := m.Lookup(c.Lang)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", c.Lang, err)
	}
	d, err := tool.Describe(ctx)
	if err != nil || d.Name != c.Describe {
		t.Fatalf("Describe = %+v, %v; want name %q", d, err, c.Describe)
	}
	sess, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "plugintest"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	calls(t, tool, sess, c)
	if err := tool.Close(ctx, sess); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: c.Calls[0].Code}); !errors.Is(err, plugins.ErrUnknownSession) {
		t.Errorf("Exec after Close: err = %v; want plugins.ErrUnknownSession", err)
	}
	infos := m.List(ctx)
	if len(infos) != 1 || infos[0].Checksum != host.ChecksumVerified || !infos[0].Healthy || infos[0].PID == 0 {
		t.Errorf("List = %+v; want one verified healthy plugin", infos)
	}
}

func restart(t *testing.T, c Case) {
	ctx := ctxFor(t)
	m := NewManager(t, []host.PluginConfig{c.Spec})
	tool, err := m.Lookup(c.Lang)
	if err != nil {
		t.Fatal(err)
	}
	old, err := tool.Open(ctx, plugins.OpenRequest{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pid := m.List(ctx)[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", pid, err)
	}
	eventually.True(t, 30*time.Second, "plugin restarted", func() bool {
		info := m.List(ctx)[0]
		return info.Healthy && info.Restarts >= 1 && info.PID != pid
	})
	if _, err := tool.Exec(ctx, plugins.ExecRequest{Session: old, Code: c.Calls[0].Code}); !errors.Is(err, host.ErrStaleSession) {
		t.Errorf("Exec on a session from before the restart: err = %v; want host.ErrStaleSession", err)
	}
	sess, err := tool.Open(ctx, plugins.OpenRequest{})
	if err != nil {
		t.Fatalf("Open after restart: %v", err)
	}
	calls(t, tool, sess, c)
}

// checksum starts the plugin twice: a good copy, and one whose checksum is
// wrong (then missing, then skipped). The bad one is refused alone.
func checksum(t *testing.T, c Case) {
	const bogus = "0000000000000000000000000000000000000000000000000000000000000000"
	cases := []struct {
		name  string
		sha   string
		opts  []host.Option
		want  error
		state host.ChecksumState
	}{
		{"mismatch", bogus, nil, host.ErrChecksumMismatch, host.ChecksumMismatch},
		{"missing", "", nil, host.ErrNoChecksum, host.ChecksumMissing},
		{"skipped", bogus, []host.Option{host.InsecureSkipChecksum()}, nil, host.ChecksumSkipped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxFor(t)
			good := c.Spec
			good.Name = "good"
			bad := c.Spec
			bad.Name, bad.SHA256 = "bad", tc.sha
			bad.Languages = []string{"plugintest-bad"} // never claims the good one's languages
			bad.Origin = host.Origin{File: "plugins.yaml", Line: 7}
			m := NewManager(t, []host.PluginConfig{good, bad}, tc.opts...)
			infos := m.List(ctx)
			if len(infos) != 2 {
				t.Fatalf("List = %+v; want 2", infos)
			}
			if infos[0].Checksum != host.ChecksumVerified && infos[0].Checksum != host.ChecksumSkipped || !infos[0].Healthy {
				t.Errorf("good copy = %+v; want healthy", infos[0])
			}
			if infos[1].Checksum != tc.state {
				t.Errorf("bad copy checksum = %q; want %q", infos[1].Checksum, tc.state)
			}
			tool, err := m.Lookup(c.Lang)
			if err != nil {
				t.Fatalf("the good copy is not routed beside a refused one: %v", err)
			}
			sess, err := tool.Open(ctx, plugins.OpenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			calls(t, tool, sess, c)
			if tc.want == nil {
				return
			}
			_, err = m.Lookup("plugintest-bad")
			if !errors.Is(err, host.ErrNoTool) {
				t.Fatalf("Lookup of the refused plugin's language: %v; want ErrNoTool", err)
			}
			msg := err.Error()
			for _, want := range []string{c.Spec.Path, infos[1].SHA256, "plugins.yaml:7", "sha256: " + infos[1].SHA256} {
				if !strings.Contains(msg, want) {
					t.Errorf("refusal %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, "config wants") || !strings.Contains(infos[1].Error, "plugins.yaml:7") {
				t.Errorf("refusal %q / List error %q: want the config line to change", msg, infos[1].Error)
			}
		})
	}
}

func configLanguages(t *testing.T, c Case) {
	spec := c.Spec
	spec.Languages = []string{"Plugintest-Lang"}
	m := NewManager(t, []host.PluginConfig{spec})
	if got := m.Languages(); len(got) != 1 || got[0] != "plugintest-lang" {
		t.Fatalf("Languages = %v; want only the config's [plugintest-lang]", got)
	}
	tool, err := m.Lookup("plugintest-lang")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tool.Open(ctxFor(t), plugins.OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	calls(t, tool, sess, c)
}

func expired(t *testing.T, c Case) {
	m := NewManager(t, []host.PluginConfig{c.Spec})
	tool, err := m.Lookup(c.Lang)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tool.Open(ctxFor(t), plugins.OpenRequest{Stateless: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := tool.Exec(ctx, plugins.ExecRequest{Session: sess, Code: c.Calls[0].Code}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec with an expired ctx: err = %v; want context.DeadlineExceeded", err)
	}
}
