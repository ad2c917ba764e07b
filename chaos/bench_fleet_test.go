package chaos

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/protocol"
)

// quickTool answers every code fence at once. Both sides of
// fleet_vs_engine_ideal use it, so the ratio measures the fleet, not the
// sandbox (whose cost is benchmarked in plugins/host).
type quickTool struct{}

func (quickTool) Open(context.Context, string) (hint.ToolSession, error) { return quickTool{}, nil }
func (quickTool) Exec(context.Context, string, string) (hint.ToolResult, error) {
	return hint.ToolResult{Output: "2\n"}, nil
}
func (quickTool) Languages() []string         { return []string{"python"} }
func (quickTool) Close(context.Context) error { return nil }

// BenchmarkFleetVsEngineIdeal: useful completion tokens/s of the fleet (4
// workers, one sim engine each, HINTFLEET_BENCH_SESSIONS sessions per
// worker, paper hints with tool calls) against the same workload driven
// straight at four fresh sim engines by infer.Run at the same total
// concurrency: the engine-ideal. Default 16 sessions per worker, not 64:
// on 2 shared cores 256 streams measure the CPU, not the fleet.
func BenchmarkFleetVsEngineIdeal(b *testing.B) {
	const workers = 4
	sessions := envInt("HINTFLEET_BENCH_SESSIONS", 16)
	ps := benchProblems(envInt("HINTFLEET_BENCH_FLEET_PROBLEMS", 8*sessions))
	const k, speedup = 2, 2
	hintCfg := hint.Config{Policy: hint.Policy{Mode: hint.TriggerEvery, UntilToolCall: true}}

	// Engine-ideal: infer.Run straight at fresh engines.
	engs, err := infer.NewEngines(startSims(b, workers, ps, speedup), nil)
	if err != nil {
		b.Fatal(err)
	}
	sum, err := infer.Run(context.Background(), engs, ps, infer.Options{Samples: k, Concurrency: workers * sessions,
		Hint: hintCfg, Tools: quickTool{}, Out: b.TempDir() + "/ideal.jsonl"})
	if err != nil {
		b.Fatal(err)
	}
	ideal := float64(sum.CompletionTokens) / sum.Elapsed.Seconds()

	// Fleet: same workload through coordinator, JetStream, etcd and workers.
	env := clustertest.Start(b)
	c := startCoordinator(b, env, coordinator.Config{DataDir: b.TempDir(), ElectionTTL: 2 * time.Second})
	startWorkers(b, env, startSims(b, workers, ps, speedup), sessions, quickTool{})
	t0 := time.Now()
	if _, err := c.Submit(context.Background(), coordinator.JobSpec{ID: "fleet", Model: testModel, ProblemsJSONL: jsonl(ps), Samples: k,
		Hint: protocol.HintSpec{Policy: protocol.Policy{Mode: hint.TriggerEvery, UntilToolCall: true}}}); err != nil {
		b.Fatal(err)
	}
	j := waitDone(b, c, "fleet", 5*time.Minute)
	el := time.Since(t0)
	if j.State != coordinator.JobDone || j.Counts.Done != len(ps)*k {
		b.Fatalf("fleet job %s with %+v", j.State, j.Counts)
	}
	fleet := float64(j.Counts.Tokens) / el.Seconds()
	b.Logf("%d workers × %d sessions, %d tasks: engine-ideal %.0f tok/s (%d tok in %v, %d tool calls), fleet %.0f tok/s (%d tok in %v)",
		workers, sessions, len(ps)*k, ideal, sum.CompletionTokens, sum.Elapsed.Round(time.Millisecond), sum.ToolCalls, fleet, j.Counts.Tokens, el.Round(time.Millisecond))
	bench("fleet_tokens_per_s", fleet, "tok/s")
	bench("engine_ideal_tokens_per_s", ideal, "tok/s")
	bench("fleet_vs_engine_ideal", fleet/ideal, "ratio")
}

// BenchmarkFailover: real processes; a worker is killed with SIGKILL
// mid-generation (as TestWorkerKill9) and the time until all its tasks are
// claimed by another worker is measured, with the tokens the engine
// generated again (engine total − tokens in the written trajectories −
// their wasted tokens, over the written tokens).
func BenchmarkFailover(b *testing.B) {
	path, ps := writeProblems(b, 12, false)
	f := newFleet(b, path)
	c := f.startCoord("coord", 0)
	f.waitLeader(c)
	victim := f.startWorker("victim", 4)
	job := f.submit(c.api, "failover", 2, "--hints", "paper")
	f.startWorker("survivor", 32)
	fo := killWorker(b, f, victim, "victim", 4)
	if j := f.waitJob(job, jobLimit); j.State != coordinator.JobDone {
		b.Fatalf("job ended %s", j.State)
	}
	tl := f.count(job, ps, 2)
	regen := f.engineTokens() - float64(tl.completion)
	bench("failover_s", fo.worst.Seconds(), "s")
	bench("lease_ttl_s", leaseTTL.Seconds(), "s")
	bench("regenerated_token_pct", 100*max(regen, 0)/float64(tl.completion), "%")
}

// BenchmarkCoordinatorCPU: CPU time (user + system, from /proc/<pid>/stat,
// as getrusage reports it) of a coordinator process while it runs a job of
// HINTFLEET_BENCH_CPU_TASKS tasks (default 1000) on two worker processes,
// from submit to done, per 1000 tasks.
func BenchmarkCoordinatorCPU(b *testing.B) {
	n := envInt("HINTFLEET_BENCH_CPU_TASKS", 1000)
	path, ps := writeProblems(b, n/2, false)
	f := newFleet(b, path, "--speedup", "50", "--reasoning-tokens", "60")
	c := f.startCoord("coord", 0)
	f.waitLeader(c)
	f.startWorker("w1", 64)
	f.startWorker("w2", 64)
	before := cpuSeconds(b, c.cmd.Process.Pid)
	job := f.submit(c.api, "cpu", 2, "--hints", "none")
	if j := f.waitJob(job, 5*time.Minute); j.State != coordinator.JobDone {
		b.Fatalf("job ended %s", j.State)
	}
	used := cpuSeconds(b, c.cmd.Process.Pid) - before
	f.count(job, ps, 2)
	b.Logf("coordinator used %.2f cores·s for %d tasks", used, len(ps)*2)
	bench("coordinator_cpu_per_1k_tasks_s", used*1000/float64(len(ps)*2), "cores*s")
}

// cpuSeconds reads a process's user + system time from /proc/<pid>/stat.
func cpuSeconds(b testing.TB, pid int) float64 {
	b.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	fs := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseFloat(fs[11], 64)
	st, _ := strconv.ParseFloat(fs[12], 64)
	const clkTck = 100 // USER_HZ on Linux
	return (ut + st) / clkTck
}
