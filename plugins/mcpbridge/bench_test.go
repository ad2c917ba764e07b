package mcpbridge_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/mcpbridge/mcptest"
)

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// latencies runs call warm+n times and returns the last n durations.
func latencies(b *testing.B, warm, n int, call func() error) []time.Duration {
	out := make([]time.Duration, 0, n)
	for i := 0; i < warm+n; i++ {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		if i >= warm {
			out = append(out, time.Since(start))
		}
	}
	return out
}

// BenchmarkToolCallMCP measures a trivial MCP tool call (server-everything's
// echo) through the whole host path: the manager, go-plugin's gRPC over
// AutoMTLS, the bridge, and the MCP server over stdio. The baseline, in the
// same run, is the same call made directly with the Go SDK's client, without
// host or bridge, so the ratio is what the plugin path adds. Its lines are
// python's and bash's (plugins/host) with tool=mcp.
func BenchmarkToolCallMCP(b *testing.B) {
	m := startBridgePlugin(b, "echo")
	tool, ok := m.Tool("mcp:everything.echo")
	if !ok {
		b.Fatal("no mcp:everything.echo")
	}
	ctx := context.Background()
	sid, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	const warm, calls = 100, 2000
	lat := latencies(b, warm, calls, func() error {
		res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sid, Lang: "mcp:everything.echo", Code: `{"message": "2"}`})
		if err == nil && res.Stdout != "Echo: 2" {
			err = fmt.Errorf("echo answered %+v", res)
		}
		return err
	})

	cmd := mcptest.Everything(b)
	client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	sess, err := client.Connect(ctx, &mcp.CommandTransport{Command: exec.Command(cmd[0], cmd[1:]...)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	base := latencies(b, warm, calls/2, func() error {
		_, err := sess.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "2"}})
		return err
	})
	p50, p99, baseP50 := percentile(lat, 0.5), percentile(lat, 0.99), percentile(base, 0.5)
	fmt.Printf("BENCH tool_call_p50_us %.1f us tool=mcp\n", float64(p50.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_p99_us %.1f us tool=mcp\n", float64(p99.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_baseline_p50_us %.1f us tool=mcp\n", float64(baseP50.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_bridge_cost_x %.2f x tool=mcp\n", float64(p50)/float64(baseP50))
}
