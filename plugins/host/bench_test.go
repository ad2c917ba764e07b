package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkToolCall measures print(1+1) through the whole host path: the
// manager, go-plugin's gRPC over AutoMTLS, and the sandboxed interpreter in
// its own bwrap sandbox. The baseline, measured in the same run, is what a
// tool call costs without a warm pool: one bwrap + python3 start importing
// numpy and sympy per call.
func BenchmarkToolCall(b *testing.B) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		b.Skip("bwrap missing: make deps installs bubblewrap")
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	sum, err := FileSHA256(exe)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m, err := New(ctx, []PluginConfig{{Name: "python", Path: exe, SHA256: sum, Env: []string{envServePython + "=1"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tool, ok := m.Tool("python")
	if !ok {
		b.Fatal("no python tool")
	}
	sid, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	p50, p99 := callLatency(b, tool, sid, "print(1+1)", 2000)

	// 32 concurrent sessions, opened first (the pool refills at sandbox
	// start speed), then each calling in a loop for a fixed count.
	const sessions, perSession = 32, 100
	ids := make([]string, sessions)
	for s := range ids {
		if ids[s], err = tool.Open(ctx, plugins.OpenRequest{Trajectory: fmt.Sprint("bench-", s)}); err != nil {
			b.Fatal(err)
		}
		defer tool.Close(ctx, ids[s])
	}
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, sessions)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSession; i++ {
				if _, err := tool.Exec(ctx, plugins.ExecRequest{Session: id, Code: "print(1+1)"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	perSec := float64(sessions*perSession) / time.Since(start).Seconds()

	var base []time.Duration
	for i := 0; i < 7; i++ {
		start := time.Now()
		out, err := exec.Command("bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
			"--symlink", "usr/bin", "/bin", "--ro-bind", "/etc/alternatives", "/etc/alternatives", "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
			"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--unshare-all", "--die-with-parent",
			"/usr/bin/python3", "-c", "import numpy, sympy; print(1+1)").CombinedOutput()
		if err != nil {
			b.Fatalf("baseline: %v: %s", err, out)
		}
		base = append(base, time.Since(start))
	}
	baseP50 := percentile(base, 0.5)
	fmt.Printf("BENCH tool_call_p50_us %.1f us tool=python\n", float64(p50.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_p99_us %.1f us tool=python\n", float64(p99.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_baseline_p50_ms %.1f ms tool=python\n", float64(baseP50.Nanoseconds())/1e6)
	fmt.Printf("BENCH tool_call_speedup_x %.0f x tool=python\n", float64(baseP50)/float64(p50))
	fmt.Printf("BENCH tool_calls_per_s_32_host %.0f calls/s tool=python\n", perSec)

	benchBash(b, exe, sum)
}

// callLatency runs code n times (after 100 warm-up calls) in session sid
// and returns the p50 and p99 of the calls.
func callLatency(b *testing.B, tool plugins.Tool, sid, code string, n int) (time.Duration, time.Duration) {
	b.Helper()
	ctx := context.Background()
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+100; i++ {
		start := time.Now()
		res, err := tool.Exec(ctx, plugins.ExecRequest{Session: sid, Code: code})
		if err != nil || res.Stdout != "2\n" {
			b.Fatalf("exec %q: %+v, %v", code, res, err)
		}
		if i >= 100 { // the first calls warm connections and caches
			lat = append(lat, time.Since(start))
		}
	}
	return percentile(lat, 0.50), percentile(lat, 0.99)
}

// benchBash measures `echo $((1+1))` through the manager and the bash tool,
// beside python's figures under the same names (label tool=bash): in one
// session's shell (the p50 and p99), and stateless, a fresh sandbox per
// block. The baseline, in the same run, is the same bash -c started by the
// host with no sandbox and no plugin: speedup_x is baseline over the
// session p50, as python's is a cold sandbox over its warm one.
func benchBash(b *testing.B, exe, sum string) {
	ctx := context.Background()
	m, err := New(ctx, []PluginConfig{{Name: "bash", Path: exe, SHA256: sum, Env: []string{envServeBash + "=1"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tool, err := m.Lookup("bash")
	if err != nil {
		b.Fatal(err)
	}
	const code = "echo $((1+1))"
	latency := func(stateless bool, n int) (time.Duration, time.Duration) {
		sid, err := tool.Open(ctx, plugins.OpenRequest{Trajectory: "bench", Stateless: stateless})
		if err != nil {
			b.Fatal(err)
		}
		defer tool.Close(ctx, sid)
		return callLatency(b, tool, sid, code, n)
	}
	p50, p99 := latency(false, 2000)
	cold, _ := latency(true, 200)
	var base []time.Duration
	for range 200 {
		start := time.Now()
		out, err := exec.Command("/bin/bash", "-c", code).Output()
		if err != nil || string(out) != "2\n" {
			b.Fatalf("baseline: %q %v", out, err)
		}
		base = append(base, time.Since(start))
	}
	baseP50 := percentile(base, 0.5)
	fmt.Printf("BENCH tool_call_p50_us %.1f us tool=bash\n", float64(p50.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_p99_us %.1f us tool=bash\n", float64(p99.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_stateless_p50_us %.1f us tool=bash\n", float64(cold.Nanoseconds())/1e3)
	fmt.Printf("BENCH tool_call_baseline_p50_ms %.2f ms tool=bash\n", float64(baseP50.Nanoseconds())/1e6)
	fmt.Printf("BENCH tool_call_speedup_x %.1f x tool=bash\n", float64(baseP50)/float64(p50))
}
