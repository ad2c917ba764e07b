package mcpbridge_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge/mcptest"
)

// envServeBridge, set to a config path, makes the test binary the bridge
// plugin: the host starts it as a real child process, checksummed, exactly
// as it starts bin/plugins/hintfleet-mcp.
const envServeBridge = "HINTFLEET_TEST_SERVE_MCP_BRIDGE"

func TestMain(m *testing.M) {
	if path := os.Getenv(envServeBridge); path != "" {
		os.Exit(serveBridge(path))
	}
	os.Exit(m.Run())
}

func serveBridge(path string) int {
	cfg, err := mcpbridge.LoadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := mcpbridge.New(ctx, cfg, mcpbridge.WithServerStderr(os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	plugins.Serve(b)
	if err := b.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startBridgePlugin runs the bridge over server-everything as a plugin of a
// real host until the test ends.
func startBridgePlugin(tb testing.TB, tools ...string) *host.Manager {
	tb.Helper()
	cfg := mcptest.Config(tb, tb.TempDir(), tools...)
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := host.FileSHA256(exe)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := host.New(ctx, []host.PluginConfig{{Name: "mcp", Path: exe, SHA256: sum, Env: []string{envServeBridge + "=" + cfg}}})
	if err != nil {
		tb.Fatalf("start the bridge plugin: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// serverProcs are the MCP server processes under the bridge plugin.
func serverProcs(t *testing.T, m *host.Manager) (plugin int, servers []proctest.Proc) {
	t.Helper()
	pid := m.List(t.Context())[0].PID
	ps := proctest.Running(proctest.Descendants(pid))
	return pid, slices.DeleteFunc(ps, func(p proctest.Proc) bool { return p.PID == pid })
}

// TestBridgeThroughHost: the bridge as a child process of the host, routed
// by fence language, restarts a server that died, and leaves no server
// behind when stopped or SIGKILLed.
func TestBridgeThroughHost(t *testing.T) {
	m := startBridgePlugin(t)
	tool, ok := m.Tool("mcp:everything.echo")
	if !ok {
		t.Fatalf("no tool for mcp:everything.echo; languages %v", m.Languages())
	}
	sid, err := tool.Open(t.Context(), plugins.OpenRequest{Trajectory: "host"})
	if err != nil {
		t.Fatal(err)
	}
	echo := func(t *testing.T, msg string) plugins.ExecResult {
		t.Helper()
		res, err := tool.Exec(t.Context(), plugins.ExecRequest{Session: sid, Lang: "mcp:everything.echo", Code: fmt.Sprintf(`{"message": %q}`, msg)})
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		return res
	}
	if res := echo(t, "through the host"); res.Stdout != "Echo: through the host" || res.ExitCode != 0 {
		t.Fatalf("echo: %+v", res)
	}

	t.Run("a server that dies is restarted", func(t *testing.T) {
		_, servers := serverProcs(t, m)
		if len(servers) == 0 {
			t.Fatal("no MCP server process under the plugin")
		}
		for _, p := range servers {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		eventually.True(t, 10*time.Second, "killed server gone", func() bool { return len(proctest.Running(servers)) == 0 })
		res := echo(t, "first after the kill")
		if res.ErrorKind != plugins.KindCrashed && res.Stdout != "Echo: first after the kill" {
			t.Fatalf("call after the server died: %+v; want KindCrashed (or a restarted server's answer)", res)
		}
		if res := echo(t, "again"); res.Stdout != "Echo: again" {
			t.Fatalf("call after the restart: %+v", res)
		}
	})

	t.Run("stopped with the plugin", func(t *testing.T) {
		pid, servers := serverProcs(t, m)
		if len(servers) == 0 {
			t.Fatal("no MCP server process under the plugin")
		}
		// SIGKILL of the bridge: the kernel's parent-death signal ends its
		// servers (the host then starts a new bridge, with new servers).
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually.True(t, 10*time.Second, "servers of a SIGKILLed bridge gone", func() bool { return len(proctest.Running(servers)) == 0 })
		// A graceful stop: Close returns after the bridge and its servers.
		eventually.True(t, 30*time.Second, "bridge restarted by the host", func() bool {
			l := m.List(t.Context())
			return l[0].PID != 0 && l[0].PID != pid && l[0].Healthy
		})
		_, servers = serverProcs(t, m)
		if len(servers) == 0 {
			t.Fatal("no MCP server under the restarted bridge")
		}
		m.Close()
		eventually.True(t, 10*time.Second, "servers gone after the host's Close", func() bool { return len(proctest.Running(servers)) == 0 })
	})
}
