package adaptive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The scenario suite measures the controller the way users meet it: with
// its defaults, on GPUs, problem mixes and tool latencies nobody tuned it
// for. Each scenario runs the same job at fixed concurrency 8…256 and under
// the adaptive limiter on the discrete-event model of fleetsim_test.go,
// and reports adaptive against
//
//   - the oracle: the best fixed setting of that scenario, chosen in
//     hindsight (what a user who re-tunes for every model, GPU and mix
//     would run), and
//   - the single fixed setting that is best over the whole suite (what a
//     user who tunes once runs everywhere), both on throughput and on p99
//     time per task.
//
// Suite figures are geometric means over scenarios of per-scenario ratios,
// so that a long scenario does not outweigh a short one.
//
// The GPU shapes are of the order of a 32B model in bf16 (tensor parallel
// where it does not fit): decode step a+b·batch, prefill per token, and a
// KV cache whose size in tokens is what is left of the GPU memory after the
// weights. They are shapes, not measurements of any GPU. MaxNumSeqs is what
// vLLM's OpenAI server runs with when nobody sets it: 1,024 on a GPU of 70
// GiB or more that is not an A100 (H100, H200), 256 otherwise
// (EngineArgs.get_batch_defaults in vllm/engine/arg_utils.py). With 256 on
// every shape, the H100 and H200 scenarios with short problems topped out at
// the fixed grid's largest setting only because the model said the engine
// could run no more.
var (
	a100x40 = shape{name: "a100-40g", stepBase: 0.034, stepPerSeq: 0.00045, prefillPerToken: 0.00008, kvTokens: 90_000, maxNumSeqs: 256}
	a100x80 = shape{name: "a100-80g", stepBase: 0.032, stepPerSeq: 0.00040, prefillPerToken: 0.00007, kvTokens: 330_000, maxNumSeqs: 256}
	h100    = shape{name: "h100", stepBase: 0.020, stepPerSeq: 0.00022, prefillPerToken: 0.00004, kvTokens: 300_000, maxNumSeqs: 1024}
	h200    = shape{name: "h200", stepBase: 0.017, stepPerSeq: 0.00018, prefillPerToken: 0.00003, kvTokens: 780_000, maxNumSeqs: 1024}
)

// lengthMix draws completion lengths: each part is a share of the tasks
// with a log-normal length of the given mean and spread.
type lengthMix struct {
	name  string
	parts []mixPart
}

type mixPart struct {
	share, mean, sigma float64
}

var (
	gsm8k = lengthMix{"gsm8k", []mixPart{{1, 450, 0.5}}}
	math5 = lengthMix{"math500", []mixPart{{1, 1800, 0.7}}}
	aime  = lengthMix{"aime", []mixPart{{1, 9000, 0.6}}}
	mixed = lengthMix{"mixed", []mixPart{{0.5, 450, 0.5}, {0.3, 1800, 0.7}, {0.2, 9000, 0.6}}}
)

type scenario struct {
	name    string
	engines []shape
	mix     lengthMix
	// toolCalls is the most tool calls a task makes (uniform 0..toolCalls);
	// toolWait the seconds each takes.
	toolCalls int
	toolWait  float64
	// slowAt > 0 slows every engine by slowBy once that share of tasks is
	// done.
	slowAt, slowBy float64
	// tasksPerEngine sizes the job: at least 1,000, one node's share of a
	// job of a million tasks on a thousand nodes (the fleet this is for),
	// and more for short problems. A job of 200 long problems was admitted
	// whole by the first seconds of slow start, before any sequence was
	// long enough to show what the cache holds, and measured that and the
	// job's tail rather than the controller.
	tasksPerEngine int
}

var suite = []scenario{
	{name: "a100-40g/gsm8k/no-tools", engines: []shape{a100x40}, mix: gsm8k, tasksPerEngine: 3000},
	{name: "a100-40g/aime/tools-0.5s", engines: []shape{a100x40}, mix: aime, toolCalls: 3, toolWait: 0.5, tasksPerEngine: 1000},
	{name: "a100-80g/math500/tools-1s", engines: []shape{a100x80}, mix: math5, toolCalls: 3, toolWait: 1, tasksPerEngine: 1500},
	{name: "h100/gsm8k/tools-2s", engines: []shape{h100}, mix: gsm8k, toolCalls: 2, toolWait: 2, tasksPerEngine: 3000},
	{name: "h100/aime/no-tools", engines: []shape{h100}, mix: aime, tasksPerEngine: 1000},
	{name: "h100/math500/slowdown-3x", engines: []shape{h100}, mix: math5, toolCalls: 1, toolWait: 0.2, slowAt: 0.4, slowBy: 3, tasksPerEngine: 1500},
	{name: "h200/gsm8k/no-tools", engines: []shape{h200}, mix: gsm8k, tasksPerEngine: 6000},
	{name: "h200/mixed/tools-0.2s", engines: []shape{h200}, mix: mixed, toolCalls: 3, toolWait: 0.2, tasksPerEngine: 1500},
	{name: "h200/aime/tools-2s", engines: []shape{h200}, mix: aime, toolCalls: 4, toolWait: 2, tasksPerEngine: 1000},
	{name: "fleet-a100-40g+a100-80g+h100+h200/mixed/tools-0.5s", engines: []shape{a100x40, a100x80, h100, h200}, mix: mixed, toolCalls: 2, toolWait: 0.5, tasksPerEngine: 1000},
}

// fixedSettings is the grid of fixed concurrencies, 8…256 as the issue sets
// it, fine enough that the oracle is not flattered by a coarse grid.
// beyondGrid are the settings past it up to the adaptive limiter's Max,
// run for a second summary: on an engine that batches 1,024, a user could
// also set 512, and adaptive's lead over a grid that stops at 256 must not
// be read as more than it is.
var (
	fixedSettings = []int{8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256}
	beyondGrid    = []int{384, 512}
)

// tasks draws sc's job, the same for every policy.
func (sc scenario) tasks(seed uint64) []taskSpec {
	rng := rand.New(rand.NewPCG(seed, 0x7a5c))
	n := sc.tasksPerEngine * len(sc.engines)
	out := make([]taskSpec, n)
	for i := range out {
		part := sc.mix.parts[len(sc.mix.parts)-1]
		u, acc := rng.Float64(), 0.0
		for _, p := range sc.mix.parts {
			if acc += p.share; u < acc {
				part = p
				break
			}
		}
		mu := math.Log(part.mean) - part.sigma*part.sigma/2
		total := int(math.Exp(mu + part.sigma*rng.NormFloat64()))
		total = max(40, min(30_000, total))
		calls := 0
		if sc.toolCalls > 0 {
			calls = rng.IntN(sc.toolCalls + 1)
		}
		t := taskSpec{prompt: 120 + rng.IntN(300)}
		// Split the completion at calls random points; each tool output is
		// 30–300 tokens.
		cuts := []int{0, total}
		for range calls {
			cuts = append(cuts, 1+rng.IntN(total-1))
		}
		sort.Ints(cuts)
		for j := 1; j < len(cuts); j++ {
			if seg := cuts[j] - cuts[j-1]; seg > 0 {
				t.segments = append(t.segments, seg)
			}
		}
		for j := 1; j < len(t.segments); j++ {
			t.outputs = append(t.outputs, 30+rng.IntN(270))
		}
		out[i] = t
	}
	return out
}

// scenarioResult is one scenario under every policy.
type scenarioResult struct {
	sc       scenario
	fixed    map[int]simResult
	adaptive simResult
}

// oracleN is the best of grid on this scenario's throughput.
func (r scenarioResult) oracleN(grid []int) int {
	best := grid[0]
	for _, n := range grid {
		if r.fixed[n].tokensPerSec > r.fixed[best].tokensPerSec {
			best = n
		}
	}
	return best
}

// suiteSeeds is how many draws of each scenario's job every policy runs.
// One draw is not enough: a job's end waits for its longest tasks, and
// where they land (which worker, how late) moves one run's throughput by
// several percent, so the best of eleven fixed settings on one draw is
// partly the luckiest draw, an oracle no setting earns on the next job.
const suiteSeeds = 3

// seeds returns the draws of the scenario at index i of its suite.
func seeds(i int) []uint64 {
	out := make([]uint64, suiteSeeds)
	for k := range out {
		out[k] = uint64(i + 1 + 100*k)
	}
	return out
}

func runScenario(sc scenario, seeds []uint64) (scenarioResult, error) {
	jobs := make([][]taskSpec, len(seeds))
	for k, seed := range seeds {
		jobs[k] = sc.tasks(seed)
	}
	res := scenarioResult{sc: sc, fixed: map[int]simResult{}}
	for _, n := range append(slices.Clone(fixedSettings), beyondGrid...) {
		r, err := runJobs(sc, jobs, n)
		if err != nil {
			return res, fmt.Errorf("%s fixed %d: %w", sc.name, n, err)
		}
		res.fixed[n] = r
	}
	r, err := runJobs(sc, jobs, 0)
	if err != nil {
		return res, fmt.Errorf("%s adaptive: %w", sc.name, err)
	}
	res.adaptive = r
	return res, nil
}

// runJobs runs every draw of the job under one policy and combines them:
// throughput is all tokens over all makespans (each draw weighted by its
// length, as running them back to back would), p99 and the mean limit are
// means over the draws, preemptions a sum; the per-worker stats are the
// first draw's.
func runJobs(sc scenario, jobs [][]taskSpec, fixed int) (simResult, error) {
	var out simResult
	for k, tasks := range jobs {
		r, err := runFleet(sc.engines, tasks, sc.toolWait, sc.slowAt, sc.slowBy, fixed)
		if err != nil {
			return out, err
		}
		if k == 0 {
			out.workers = r.workers
		}
		out.tokens += r.tokens
		out.makespan += r.makespan
		out.p50 += r.p50 / float64(len(jobs))
		out.p99 += r.p99 / float64(len(jobs))
		out.meanLimit += r.meanLimit / float64(len(jobs))
		out.preemptions += r.preemptions
	}
	out.tokensPerSec = float64(out.tokens) / out.makespan
	return out, nil
}

// suiteSummary holds the suite-wide figures.
type suiteSummary struct {
	minOracle     float64 // worst adaptive / oracle throughput
	worst         string
	singleN       int     // best single fixed setting over the suite
	vsSingle      float64 // geomean adaptive / single throughput
	p99VsSingle   float64 // geomean adaptive / single p99
	singleVsOracl float64 // geomean single / oracle throughput
	// sameP99N is the best single fixed setting whose suite p99 is no
	// worse than adaptive's, 0 when none is; vsSameP99 adaptive against it.
	sameP99N  int
	vsSameP99 float64
}

func summarize(rs []scenarioResult, grid []int) suiteSummary {
	s := suiteSummary{minOracle: math.Inf(1)}
	oracle := func(r scenarioResult) simResult { return r.fixed[r.oracleN(grid)] }
	geo := func(f func(scenarioResult) float64) float64 {
		sum := 0.0
		for _, r := range rs {
			sum += math.Log(f(r))
		}
		return math.Exp(sum / float64(len(rs)))
	}
	for _, r := range rs {
		if x := r.adaptive.tokensPerSec / oracle(r).tokensPerSec; x < s.minOracle {
			s.minOracle, s.worst = x, r.sc.name
		}
	}
	best := 0.0
	for _, n := range grid {
		g := geo(func(r scenarioResult) float64 { return r.fixed[n].tokensPerSec / oracle(r).tokensPerSec })
		if g > best {
			best, s.singleN = g, n
		}
	}
	s.singleVsOracl = best
	s.vsSingle = geo(func(r scenarioResult) float64 { return r.adaptive.tokensPerSec / r.fixed[s.singleN].tokensPerSec })
	s.p99VsSingle = geo(func(r scenarioResult) float64 { return r.adaptive.p99 / r.fixed[s.singleN].p99 })
	for _, n := range grid {
		if geo(func(r scenarioResult) float64 { return r.fixed[n].p99 / r.adaptive.p99 }) > 1 {
			continue
		}
		if x := geo(func(r scenarioResult) float64 { return r.adaptive.tokensPerSec / r.fixed[n].tokensPerSec }); s.sameP99N == 0 || x < s.vsSameP99 {
			s.sameP99N, s.vsSameP99 = n, x
		}
	}
	return s
}

func runSuite(tb testing.TB, scs []scenario) []scenarioResult {
	tb.Helper()
	var rs []scenarioResult
	for i, sc := range scs {
		r, err := runScenario(sc, seeds(i))
		if err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// BenchmarkAdaptiveScenarios runs the suite and prints its BENCH lines:
// adaptive_vs_oracle_min_x (the worst scenario), adaptive_vs_single_fixed_x
// and adaptive_p99_vs_single_fixed_x (geometric means over the suite against
// the best single fixed setting), all on the grid 8…256; then the
// same summary with the grid extended to 512, as comment lines.
func BenchmarkAdaptiveScenarios(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rs := runSuite(b, suite)
		s := summarize(rs, fixedSettings)
		for _, r := range rs {
			o := r.oracleN(fixedSettings)
			fmt.Printf("# %-52s oracle fixed %3d %8.0f tok/s p99 %7.1fs | single %3d %8.0f tok/s p99 %7.1fs | adaptive %8.0f tok/s p99 %7.1fs mean limit %5.1f preempt %d (%.3fx oracle, %.3fx single)\n",
				r.sc.name, o, r.fixed[o].tokensPerSec, r.fixed[o].p99,
				s.singleN, r.fixed[s.singleN].tokensPerSec, r.fixed[s.singleN].p99,
				r.adaptive.tokensPerSec, r.adaptive.p99, r.adaptive.meanLimit, r.adaptive.preemptions,
				r.adaptive.tokensPerSec/r.fixed[o].tokensPerSec, r.adaptive.tokensPerSec/r.fixed[s.singleN].tokensPerSec)
			fmt.Printf("#   fixed tok/s/p99: %s\n", fixedCurve(r))
			fmt.Printf("#   adaptive per engine (first draw): %s\n", perEngine(r))
		}
		fmt.Printf("# worst scenario for adaptive: %s; best single fixed %d reaches %.3fx the oracles\n", s.worst, s.singleN, s.singleVsOracl)
		fmt.Printf("BENCH adaptive_vs_oracle_min_x %.3f x\n", s.minOracle)
		fmt.Printf("BENCH adaptive_vs_single_fixed_x %.3f x\n", s.vsSingle)
		fmt.Printf("BENCH adaptive_p99_vs_single_fixed_x %.3f x\n", s.p99VsSingle)
		if s.sameP99N > 0 {
			fmt.Printf("# best single fixed setting with a suite p99 no worse than adaptive's: %d\n", s.sameP99N)
			fmt.Printf("BENCH adaptive_vs_single_fixed_same_p99_x %.3f x\n", s.vsSameP99)
		}
		grid := append(slices.Clone(fixedSettings), beyondGrid...)
		x := summarize(rs, grid)
		fmt.Printf("# grid 8…512: adaptive vs oracle min %.3fx (%s), vs best single fixed %d %.3fx at %.3fx its p99", x.minOracle, x.worst, x.singleN, x.vsSingle, x.p99VsSingle)
		if x.sameP99N > 0 {
			fmt.Printf("; vs the best single fixed with a p99 no worse than adaptive's (%d) %.3fx", x.sameP99N, x.vsSameP99)
		}
		fmt.Println()
	}
}

// fixedCurve formats one scenario's throughput per fixed setting, for
// debugging a scenario the adaptive limiter loses.
func fixedCurve(r scenarioResult) string {
	var parts []string
	for _, n := range append(slices.Clone(fixedSettings), beyondGrid...) {
		parts = append(parts, fmt.Sprintf("%d:%.0f/%.0fs", n, r.fixed[n].tokensPerSec, r.fixed[n].p99))
	}
	return strings.Join(parts, " ")
}

// perEngine formats what each engine did under adaptive on the first draw:
// the batch, queue, KV usage, sessions held and limit it averaged, and when
// its last task ended (on a fleet, the job waits for the last engine).
func perEngine(r scenarioResult) string {
	var parts []string
	for j, w := range r.adaptive.workers {
		n := max(w.samples, 1)
		parts = append(parts, fmt.Sprintf("%s run %.0f wait %.0f kv %.2f held %.0f limit %.0f last %.0fs",
			r.sc.engines[j].name, w.running/n, w.waiting/n, w.kv/n, w.inflight/n, w.limit/n, w.last))
	}
	return strings.Join(parts, "; ")
}
