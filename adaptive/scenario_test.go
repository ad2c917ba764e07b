package adaptive

import (
	"fmt"
	"math"
	"math/rand/v2"
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
// weights. They are shapes, not measurements of any GPU.
var (
	a100x40 = shape{name: "a100-40g", stepBase: 0.034, stepPerSeq: 0.00045, prefillPerToken: 0.00008, kvTokens: 90_000, maxNumSeqs: 256}
	a100x80 = shape{name: "a100-80g", stepBase: 0.032, stepPerSeq: 0.00040, prefillPerToken: 0.00007, kvTokens: 330_000, maxNumSeqs: 256}
	h100    = shape{name: "h100", stepBase: 0.020, stepPerSeq: 0.00022, prefillPerToken: 0.00004, kvTokens: 300_000, maxNumSeqs: 256}
	h200    = shape{name: "h200", stepBase: 0.017, stepPerSeq: 0.00018, prefillPerToken: 0.00003, kvTokens: 780_000, maxNumSeqs: 256}
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
	// tasksPerEngine sizes the job.
	tasksPerEngine int
}

var suite = []scenario{
	{name: "a100-40g/gsm8k/no-tools", engines: []shape{a100x40}, mix: gsm8k, tasksPerEngine: 3000},
	{name: "a100-40g/aime/tools-0.5s", engines: []shape{a100x40}, mix: aime, toolCalls: 3, toolWait: 0.5, tasksPerEngine: 200},
	{name: "a100-80g/math500/tools-1s", engines: []shape{a100x80}, mix: math5, toolCalls: 3, toolWait: 1, tasksPerEngine: 1500},
	{name: "h100/gsm8k/tools-2s", engines: []shape{h100}, mix: gsm8k, toolCalls: 2, toolWait: 2, tasksPerEngine: 3000},
	{name: "h100/aime/no-tools", engines: []shape{h100}, mix: aime, tasksPerEngine: 400},
	{name: "h100/math500/slowdown-3x", engines: []shape{h100}, mix: math5, toolCalls: 1, toolWait: 0.2, slowAt: 0.4, slowBy: 3, tasksPerEngine: 1500},
	{name: "h200/gsm8k/no-tools", engines: []shape{h200}, mix: gsm8k, tasksPerEngine: 6000},
	{name: "h200/mixed/tools-0.2s", engines: []shape{h200}, mix: mixed, toolCalls: 3, toolWait: 0.2, tasksPerEngine: 1500},
	{name: "h200/aime/tools-2s", engines: []shape{h200}, mix: aime, toolCalls: 4, toolWait: 2, tasksPerEngine: 500},
	{name: "fleet-a100-40g+a100-80g+h100+h200/mixed/tools-0.5s", engines: []shape{a100x40, a100x80, h100, h200}, mix: mixed, toolCalls: 2, toolWait: 0.5, tasksPerEngine: 800},
}

// fixedSettings is the grid of fixed concurrencies, 8…256, fine enough that
// the oracle is not flattered by a coarse grid.
var fixedSettings = []int{8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256}

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
	oracleN  int
}

func (r scenarioResult) oracle() simResult { return r.fixed[r.oracleN] }

func runScenario(sc scenario, seed uint64) (scenarioResult, error) {
	tasks := sc.tasks(seed)
	res := scenarioResult{sc: sc, fixed: map[int]simResult{}}
	for _, n := range fixedSettings {
		r, err := runFleet(sc.engines, tasks, sc.toolWait, sc.slowAt, sc.slowBy, n)
		if err != nil {
			return res, fmt.Errorf("%s fixed %d: %w", sc.name, n, err)
		}
		res.fixed[n] = r
		if res.oracleN == 0 || r.tokensPerSec > res.fixed[res.oracleN].tokensPerSec {
			res.oracleN = n
		}
	}
	r, err := runFleet(sc.engines, tasks, sc.toolWait, sc.slowAt, sc.slowBy, 0)
	if err != nil {
		return res, fmt.Errorf("%s adaptive: %w", sc.name, err)
	}
	res.adaptive = r
	return res, nil
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

func summarize(rs []scenarioResult) suiteSummary {
	s := suiteSummary{minOracle: math.Inf(1)}
	geo := func(f func(scenarioResult) float64) float64 {
		sum := 0.0
		for _, r := range rs {
			sum += math.Log(f(r))
		}
		return math.Exp(sum / float64(len(rs)))
	}
	for _, r := range rs {
		if x := r.adaptive.tokensPerSec / r.oracle().tokensPerSec; x < s.minOracle {
			s.minOracle, s.worst = x, r.sc.name
		}
	}
	best := 0.0
	for _, n := range fixedSettings {
		g := geo(func(r scenarioResult) float64 { return r.fixed[n].tokensPerSec / r.oracle().tokensPerSec })
		if g > best {
			best, s.singleN = g, n
		}
	}
	s.singleVsOracl = best
	s.vsSingle = geo(func(r scenarioResult) float64 { return r.adaptive.tokensPerSec / r.fixed[s.singleN].tokensPerSec })
	s.p99VsSingle = geo(func(r scenarioResult) float64 { return r.adaptive.p99 / r.fixed[s.singleN].p99 })
	for _, n := range fixedSettings {
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
		r, err := runScenario(sc, uint64(i+1))
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
// the best single fixed setting).
func BenchmarkAdaptiveScenarios(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rs := runSuite(b, suite)
		s := summarize(rs)
		for _, r := range rs {
			fmt.Printf("# %-52s oracle fixed %3d %8.0f tok/s p99 %7.1fs | single %3d %8.0f tok/s p99 %7.1fs | adaptive %8.0f tok/s p99 %7.1fs mean limit %5.1f preempt %d (%.3fx oracle, %.3fx single)\n",
				r.sc.name, r.oracleN, r.oracle().tokensPerSec, r.oracle().p99,
				s.singleN, r.fixed[s.singleN].tokensPerSec, r.fixed[s.singleN].p99,
				r.adaptive.tokensPerSec, r.adaptive.p99, r.adaptive.meanLimit, r.adaptive.preemptions,
				r.adaptive.tokensPerSec/r.oracle().tokensPerSec, r.adaptive.tokensPerSec/r.fixed[s.singleN].tokensPerSec)
			fmt.Printf("#   fixed tok/s/p99: %s\n", fixedCurve(r))
		}
		fmt.Printf("# worst scenario for adaptive: %s; best single fixed %d reaches %.3fx the oracles\n", s.worst, s.singleN, s.singleVsOracl)
		fmt.Printf("BENCH adaptive_vs_oracle_min_x %.3f x\n", s.minOracle)
		fmt.Printf("BENCH adaptive_vs_single_fixed_x %.3f x\n", s.vsSingle)
		fmt.Printf("BENCH adaptive_p99_vs_single_fixed_x %.3f x\n", s.p99VsSingle)
		if s.sameP99N > 0 {
			fmt.Printf("# best single fixed setting with a suite p99 no worse than adaptive's: %d\n", s.sameP99N)
			fmt.Printf("BENCH adaptive_vs_single_fixed_same_p99_x %.3f x\n", s.vsSameP99)
		}
	}
}

// fixedCurve formats one scenario's throughput per fixed setting, for
// debugging a scenario the adaptive limiter loses.
func fixedCurve(r scenarioResult) string {
	var parts []string
	for _, n := range fixedSettings {
		parts = append(parts, fmt.Sprintf("%d:%.0f/%.0fs", n, r.fixed[n].tokensPerSec, r.fixed[n].p99))
	}
	return strings.Join(parts, " ")
}
