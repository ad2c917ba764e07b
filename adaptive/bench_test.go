package adaptive

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/trajectory"
)

// The benchmark runs one fixed workload (benchTasks hint sessions over
// GSM8K and MATH500 problems, tools off) against engine/sim configured like
// one GPU whose KV cache, not its batch limit, is the binding constraint:
// MaxNumSeqs 128, a KV cache that holds ~56 sequences at their final
// length, decode step a+b·batch. It runs the workload at fixed concurrency
// 8…128 (96 too: the fixed optimum of this workload lies between 64 and
// 128, and the adaptive limiter must beat the best fixed setting, not the
// best of a coarse grid) and under the adaptive limiter, then again with the engine slowed 3x
// halfway, and prints BENCH lines. Throughput is completion tokens per
// simulated second; time per task is simulated seconds from admission to the
// end of the session.
//
// Run once: go test -run '^$' -bench . -benchtime 1x ./adaptive/
const (
	benchTasks    = 256
	benchSpeedup  = 25
	benchInterval = 2 * time.Second // simulated; the limiter ticks at this / speedup
	benchKVTokens = 72 * 1024
)

var benchFixed = []int{8, 16, 32, 64, 96, 128}

func benchSimConfig(problems []trajectory.Problem) sim.Config {
	cfg := sim.DefaultConfig()
	cfg.Model = "sim-bench"
	cfg.MaxNumSeqs = 128
	cfg.MaxModelLen = 8192
	cfg.KVCacheTokens = benchKVTokens
	cfg.Speedup = benchSpeedup
	cfg.Problems = problems
	cfg.Reasoner.ReasoningTokens = 1200
	return cfg
}

func benchHintConfig() hint.Config {
	return hint.Config{
		Policy:    hint.Policy{Mode: hint.TriggerNone},
		MaxTokens: 4096,
	}
}

// benchProblems takes benchTasks/2 problems each from GSM8K and MATH500 (the
// copies in the binary), topped up with synthesised arithmetic problems.
func benchProblems(b *testing.B) []trajectory.Problem {
	b.Helper()
	var out []trajectory.Problem
	for _, name := range []string{"gsm8k", "math500"} {
		ps, err := trajectory.LoadDataset(name, "")
		if err != nil {
			b.Fatalf("dataset %s: %v", name, err)
		}
		out = append(out, ps[:min(len(ps), benchTasks/2)]...)
	}
	for i := 0; len(out) < benchTasks; i++ {
		out = append(out, trajectory.Problem{
			ID: fmt.Sprintf("synth/%d", i), Dataset: "synth", Kind: trajectory.KindMath,
			Question: fmt.Sprintf("A train travels %d km in %d hours. What is its average speed in km per hour?", 60*(i+2), i+2),
			Answer:   "60",
		})
	}
	return out[:benchTasks]
}

// benchResult is one scenario's figures.
type benchResult struct {
	name         string
	tokensPerSec float64 // completion tokens per simulated second
	p99, p50     time.Duration
	errors       int
	preemptions  float64
	trace        []TracePoint
	slowAt       time.Time // when the slowdown began; zero without one
	meanTokens   float64
}

// runBench runs the workload once through l. When adapt is set the
// limiter's controller runs; when slowHalfway is set the engine slows 3x
// once half the tasks have finished.
func runBench(b *testing.B, problems []trajectory.Problem, name string, l *Limiter, adapt, slowHalfway bool) benchResult {
	b.Helper()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	srv, err := sim.New(benchSimConfig(problems))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	url, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	client, err := engine.New(url, engine.WithModel("sim-bench"))
	if err != nil {
		b.Fatal(err)
	}
	engines, err := infer.NewEngines([]*engine.Client{client}, nil)
	if err != nil {
		b.Fatal(err)
	}
	model := srv.Model()
	var (
		mu        sync.Mutex
		durations []time.Duration
		tokens    atomic.Int64
		errs      atomic.Int64
		finished  atomic.Int64
		slowOnce  sync.Once
		slowAt    time.Time
	)
	hcfg := benchHintConfig()
	task := func(ctx context.Context, i int) Outcome {
		p := problems[i%len(problems)]
		cfg := hcfg
		cfg.Seed = int64(i)
		start := time.Now()
		tr, err := hint.Run(ctx, engines.Pick(), nil, p, cfg)
		d := time.Since(start)
		n := tr.Tokens.Completion
		tokens.Add(int64(n))
		if err != nil {
			errs.Add(1)
		}
		mu.Lock()
		durations = append(durations, d)
		mu.Unlock()
		if slowHalfway && finished.Add(1) == benchTasks/2 {
			slowOnce.Do(func() {
				slowAt = time.Now()
				if err := srv.SetSlowDown(3); err != nil {
					b.Error(err)
				}
			})
		}
		return Outcome{Latency: d, Tokens: n, Err: err}
	}
	var g errgroup.Group
	runCtx, stopRun := context.WithCancel(ctx)
	if adapt {
		g.Go(func() error { return l.Run(runCtx, EngineSignals(client, nil)) })
	}
	start := time.Now()
	poolErr := RunPool(ctx, l, benchTasks, task)
	wall := time.Since(start)
	stopRun()
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	if poolErr != nil {
		b.Fatal(poolErr)
	}
	simWall := func(d time.Duration) time.Duration { return model.Simulated(d) }
	slices.Sort(durations)
	return benchResult{
		name:         name,
		tokensPerSec: float64(tokens.Load()) / simWall(wall).Seconds(),
		p99:          simWall(quantile(durations, 0.99)),
		p50:          simWall(quantile(durations, 0.5)),
		errors:       int(errs.Load()),
		preemptions:  scrapePreemptions(ctx, b, url),
		meanTokens:   float64(tokens.Load()) / benchTasks,
		trace:        l.Trace(),
		slowAt:       slowAt,
	}
}

// quantile of sorted durations by nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func fixedLimiter(b *testing.B, n int) *Limiter {
	b.Helper()
	l, err := New(WithBounds(n, n), WithInitial(n), WithTraceLen(0))
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func adaptiveLimiter(b *testing.B) *Limiter {
	b.Helper()
	l, err := New(WithBounds(4, 256), WithInitial(8), WithInterval(time.Duration(float64(benchInterval)/benchSpeedup)))
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkAdaptiveVsFixed(b *testing.B) {
	b.ReportAllocs()
	problems := benchProblems(b)
	for i := 0; i < b.N; i++ {
		best := benchResult{}
		bestN := 0
		for _, n := range benchFixed {
			r := runBench(b, problems, fmt.Sprintf("fixed_%d", n), fixedLimiter(b, n), false, false)
			report(r)
			if r.tokensPerSec > best.tokensPerSec {
				best, bestN = r, n
			}
		}
		ad := runBench(b, problems, "adaptive", adaptiveLimiter(b), true, false)
		report(ad)
		fmt.Printf("BENCH best_fixed_concurrency %d n\n", bestN)
		fmt.Printf("BENCH adaptive_vs_best_fixed_x %.3f x\n", ad.tokensPerSec/best.tokensPerSec)
		fmt.Printf("BENCH adaptive_p99_vs_best_fixed_x %.3f x\n", ad.p99.Seconds()/best.p99.Seconds())
		fmt.Printf("# adaptive limit trace: %s\n", traceSummary(ad.trace, time.Time{}))

		// Slowdown: the engine runs 3x slower once half the tasks are done.
		fs := runBench(b, problems, fmt.Sprintf("slowdown_fixed_%d", bestN), fixedLimiter(b, bestN), false, true)
		report(fs)
		as := runBench(b, problems, "slowdown_adaptive", adaptiveLimiter(b), true, true)
		report(as)
		fmt.Printf("BENCH slowdown_adaptive_vs_fixed_x %.3f x\n", as.tokensPerSec/fs.tokensPerSec)
		fmt.Printf("BENCH slowdown_adaptive_p99_vs_fixed_x %.3f x\n", as.p99.Seconds()/fs.p99.Seconds())
		fmt.Printf("# slowdown adaptive limit trace: %s\n", traceSummary(as.trace, as.slowAt))
	}
}

func report(r benchResult) {
	fmt.Printf("BENCH %s_tokens_per_s %.1f tok/s\n", r.name, r.tokensPerSec)
	fmt.Printf("BENCH %s_p99_s %.2f s\n", r.name, r.p99.Seconds())
	fmt.Printf("# %s: p50 %.2f s, errors %d, preemptions %.0f, mean completion tokens %.0f\n", r.name, r.p50.Seconds(), r.errors, r.preemptions, r.meanTokens)
}

// traceSummary condenses a limit trace: mean limit before and after the
// slowdown (when there was one), its range, and the reasons counted.
func traceSummary(tr []TracePoint, slowAt time.Time) string {
	if len(tr) == 0 {
		return "empty"
	}
	reasons := map[Reason]int{}
	var before, after []int
	for _, p := range tr {
		reasons[p.Reason]++
		if !slowAt.IsZero() && !p.At.Before(slowAt) {
			after = append(after, p.Limit)
		} else {
			before = append(before, p.Limit)
		}
	}
	var keys []string
	for r, n := range reasons {
		keys = append(keys, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d points; before: %s", len(tr), stats(before))
	if len(after) > 0 {
		fmt.Fprintf(&sb, "; after slowdown: %s", stats(after))
	}
	fmt.Fprintf(&sb, "; reasons %s; limits %s", strings.Join(keys, " "), sample(tr, 24))
	return sb.String()
}

func stats(xs []int) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi, sum := xs[0], xs[0], 0
	for _, x := range xs {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	return fmt.Sprintf("mean %.1f min %d max %d", float64(sum)/float64(len(xs)), lo, hi)
}

// sample lists up to n limits spread evenly over the trace.
func sample(tr []TracePoint, n int) string {
	var parts []string
	for i := 0; i < n && i < len(tr); i++ {
		j := i * len(tr) / min(n, len(tr))
		parts = append(parts, fmt.Sprint(tr[j].Limit))
	}
	return strings.Join(parts, " ")
}

// scrapePreemptions reads vLLM's preemption counter, which the engine
// package's snapshot does not carry.
func scrapePreemptions(ctx context.Context, b *testing.B, url string) float64 {
	b.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "vllm:num_preemptions_total") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return 0
}
