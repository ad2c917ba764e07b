package python

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/proctest"
	"github.com/hintfleet/hintfleet/plugins"
)

// BenchmarkPythonTool runs fixed workloads once (make bench uses
// -benchtime 1x) and prints one BENCH line per figure:
//
//   - tool_call_inproc_p50_us / _p99_us: Exec of print(1+1) through this
//     package, no gRPC (the host-manager path is measured elsewhere);
//   - tool_call_speedup_x: p50 of a cold sandbox per call (bwrap + python +
//     import numpy, sympy), measured in the same run, over the warm p50;
//   - session_start_p50_ms: Open with a warm interpreter ready;
//   - warm_interpreter_rss_mb: VmRSS summed over one warm sandbox's processes;
//   - tool_calls_per_s_32: print(1+1) calls per second from 32 sessions at once.
func BenchmarkPythonTool(b *testing.B) {
	requireSandbox(b)
	b.ReportAllocs()
	const poolSize = 4
	i, err := New(WithPoolSize(poolSize), WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer i.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for range b.N {
		warm := benchWarm(b, ctx, i, poolSize)
		p50, p99 := benchCalls(b, ctx, i, 2000)
		cold := benchCold(b, ctx, i, 10)
		start := benchOpen(b, ctx, i, 8)
		perSec := benchConcurrent(b, ctx, i, 32, 50)
		fmt.Printf("BENCH tool_call_inproc_p50_us %.1f us\n", us(p50))
		fmt.Printf("BENCH tool_call_inproc_p99_us %.1f us\n", us(p99))
		fmt.Printf("BENCH tool_call_speedup_x %.0f x\n", float64(cold)/float64(p50))
		fmt.Printf("BENCH session_start_p50_ms %.3f ms\n", us(start)/1000)
		fmt.Printf("BENCH warm_interpreter_rss_mb %.1f MB\n", float64(warm)/1024)
		fmt.Printf("BENCH tool_calls_per_s_32 %.0f calls/s\n", perSec)
		b.Logf("cold sandbox per call p50: %v", cold)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// benchWarm waits for a full pool and returns one warm sandbox's RSS in KiB.
func benchWarm(b *testing.B, ctx context.Context, i *Interpreter, n int) int64 {
	if err := i.pool.waitWarm(ctx, n); err != nil {
		b.Fatal(err)
	}
	pr := <-i.pool.ready // put back at once: the token count is unchanged
	i.pool.ready <- pr
	return proctest.RSSKB(proctest.Descendants(pr.pid()))
}

// benchCalls measures n sequential print(1+1) calls in one session, with
// the pool full again so no refill competes for the CPU.
func benchCalls(b *testing.B, ctx context.Context, i *Interpreter, n int) (p50, p99 time.Duration) {
	id, err := i.Open(ctx, plugins.OpenRequest{Trajectory: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer i.Close(ctx, id)
	if err := i.pool.waitWarm(ctx, i.pool.size); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, n)
	for k := range n + 50 {
		t0 := time.Now()
		res, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "print(1+1)"})
		d := time.Since(t0)
		if err != nil || res.Stdout != "2\n" {
			b.Fatalf("Exec: %+v %v", res, err)
		}
		if k >= 50 { // warm-up
			lat = append(lat, d)
		}
	}
	return percentile(lat, 0.50), percentile(lat, 0.99)
}

// benchCold is the baseline: a fresh sandbox per call, the same flags, as a
// tool without a pool would run it.
func benchCold(b *testing.B, ctx context.Context, i *Interpreter, n int) time.Duration {
	var lat []time.Duration
	for range n {
		t0 := time.Now()
		out, err := i.launch.sb.Command(ctx, i.cfg.python, "-I", "-c", "import numpy, sympy; print(1+1)").Output()
		lat = append(lat, time.Since(t0))
		if err != nil || string(out) != "2\n" {
			b.Fatalf("cold sandbox: %q %v", out, err)
		}
	}
	return percentile(lat, 0.50)
}

// benchOpen measures Open with a warm interpreter waiting.
func benchOpen(b *testing.B, ctx context.Context, i *Interpreter, n int) time.Duration {
	var lat []time.Duration
	for range n {
		if err := i.pool.waitWarm(ctx, 1); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		id, err := i.Open(ctx, plugins.OpenRequest{})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		i.Close(ctx, id)
	}
	return percentile(lat, 0.50)
}

// benchConcurrent opens sessions (waiting for the pool to refill as it
// must) and then measures calls from all of them at once.
func benchConcurrent(b *testing.B, ctx context.Context, i *Interpreter, sessions, calls int) float64 {
	ids := make([]string, sessions)
	for k := range ids {
		id, err := i.Open(ctx, plugins.OpenRequest{})
		if err != nil {
			b.Fatal(err)
		}
		ids[k] = id
		defer i.Close(ctx, id)
	}
	if err := i.pool.waitWarm(ctx, i.pool.size); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	t0 := time.Now()
	for _, id := range ids {
		wg.Go(func() {
			for range calls {
				res, err := i.Exec(ctx, plugins.ExecRequest{Session: id, Code: "print(1+1)"})
				if err != nil || res.Stdout != "2\n" {
					errs <- fmt.Errorf("Exec: %+v %v", res, err)
					return
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(sessions*calls) / wall.Seconds()
}
