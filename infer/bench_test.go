package infer_test

// Benchmarks of the infer loop against engine/sim. Each runs a fixed
// workload once (b.N is 1 under `make bench`) and prints BENCH lines:
//
//	wasted_token_pct               tokens generated past a cut / all generated, paper hints
//	infer_vs_engine_ideal          infer tokens/s at concurrency 64 / plain streams of the same lengths
//	continuous_vs_epoch_barrier_x  infer.Run tokens/s / a ToRA-style epoch-barrier loop's
//
// The tool is codeTable: the outputs of the exact code the sim writes for
// each problem, computed once by Debian's Python before timing starts, and
// served in-process. So the figures measure the hint loop and the engine,
// not the sandbox's session start, which plugins/python benchmarks on its
// own (a fresh bubblewrap interpreter with sympy per trajectory is ~0.5 s of
// CPU, which on two shared cores would swamp everything here).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/trajectory"
)

const (
	// benchConcurrency is the load: 64 sequences in flight, the
	// sim's whole batch.
	benchConcurrency = 64
	// benchSpeedup keeps a full batch's chunk rate (~6k/s) within what two
	// shared cores serve while the sim, the client and the hint loop all
	// run in this process.
	benchSpeedup = 4
	// benchPerDataset problems of GSM8K and of MATH500: two batches of 64.
	benchPerDataset = 64
	// benchRounds: the ratio benchmarks measure each side this many times,
	// alternating, and keep each side's best, so that a neighbour's burst
	// of CPU on the shared machine does not decide the figure.
	benchRounds = 2
)

// benchSetup is what every benchmark here shares: problems, the sim config
// and the code table.
type benchSetup struct {
	problems []trajectory.Problem
	cfg      sim.Config
	tools    *codeTable
}

func newBenchSetup(b *testing.B) benchSetup {
	b.Helper()
	problems := append(loadProblems(b, "gsm8k", benchPerDataset), loadProblems(b, "math500", benchPerDataset)...)
	cfg := sim.DefaultConfig()
	cfg.Problems = problems
	cfg.Speedup = benchSpeedup
	cfg.MaxNumSeqs = benchConcurrency
	return benchSetup{problems: problems, cfg: cfg, tools: newCodeTable(b, problems)}
}

// runInfer runs infer.Run with paper hints at benchConcurrency on a fresh
// sim and returns its summary and trajectories.
func (s benchSetup) runInfer(b *testing.B) (*infer.Summary, []trajectory.Trajectory) {
	b.Helper()
	_, url := startSim(b, s.cfg)
	out := filepath.Join(b.TempDir(), "bench.jsonl")
	sum, err := infer.Run(b.Context(), newEngines(b, url), s.problems, infer.Options{Samples: 1,
		Hint: paperHints(), Tools: &infer.Tools{Router: s.tools}, Concurrency: benchConcurrency, Out: out,
	})
	if err != nil || sum.Errors != 0 {
		b.Fatalf("infer.Run: %v (errors %d)", err, sum.Errors)
	}
	if m := s.tools.misses.Load(); m != 0 {
		b.Fatalf("%d tool calls ran code the table does not know", m)
	}
	return sum, readTrajectories(b, out)
}

func BenchmarkWastedTokens(b *testing.B) {
	b.ReportAllocs()
	s := newBenchSetup(b)
	var sum *infer.Summary
	for i := 0; i < b.N; i++ {
		sum, _ = s.runInfer(b)
	}
	fmt.Printf("BENCH wasted_token_pct %.3f pct\n", sum.WastedPct())
	fmt.Printf("BENCH wasted_tokens_per_cut %.2f tokens\n", per(sum.WastedTokens, sum.Hints+sum.ToolCalls))
}

// BenchmarkInferVsEngineIdeal compares infer's tokens/s with what the same
// sim config gives plain streams: for every trajectory infer produced, one
// request with its prompt and max_tokens of its completion tokens (wasted
// ones included), ignore_eos, 64 at a time, read to the end, no hint logic.
// Both sides generate the same token counts at the same concurrency, so the
// ratio is what hints, cuts, tool calls and continuations cost.
func BenchmarkInferVsEngineIdeal(b *testing.B) {
	b.ReportAllocs()
	s := newBenchSetup(b)
	var got, ideal float64
	for i := 0; i < b.N*benchRounds; i++ {
		sum, trs := s.runInfer(b)
		got = max(got, float64(sum.CompletionTokens)/sum.Elapsed.Seconds())
		ideal = max(ideal, s.idealTokensPerSec(b, trs))
	}
	fmt.Printf("BENCH infer_tokens_per_s_c64 %.0f tok/s\n", got)
	fmt.Printf("BENCH engine_ideal_tokens_per_s_c64 %.0f tok/s\n", ideal)
	fmt.Printf("BENCH infer_vs_engine_ideal %.3f ratio\n", got/ideal)
}

// idealTokensPerSec streams, on a fresh sim, one plain completion per
// trajectory with the trajectory's prompt and completion length.
func (s benchSetup) idealTokensPerSec(b *testing.B, trs []trajectory.Trajectory) float64 {
	b.Helper()
	// Start the streams in the order infer started the tasks (problem
	// order), not the file's finishing order, which would put the longest
	// last and give the ideal a tail infer did not have.
	order := make(map[string]int, len(s.problems))
	for i, p := range s.problems {
		order[p.ID] = i
	}
	trs = slices.Clone(trs)
	slices.SortFunc(trs, func(a, b trajectory.Trajectory) int { return order[a.ProblemID] - order[b.ProblemID] })
	_, url := startSim(b, s.cfg)
	c := newClient(b, url)
	var tokens atomic.Int64
	g, ctx := errgroup.WithContext(b.Context())
	g.SetLimit(benchConcurrency)
	start := time.Now()
	for _, tr := range trs {
		g.Go(func() error {
			st, err := c.Stream(ctx, engine.CompletionRequest{Prompt: tr.Prompt, MaxTokens: tr.Tokens.Completion,
				Temperature: new(0.0), Extra: map[string]any{"ignore_eos": true}})
			if err != nil {
				return err
			}
			defer st.Close()
			for {
				if _, err := st.Next(); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
			}
			u, _ := st.Usage()
			tokens.Add(int64(u.CompletionTokens))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("ideal streams: %v", err)
	}
	return float64(tokens.Load()) / time.Since(start).Seconds()
}

// BenchmarkContinuousVsEpochBarrier compares infer.Run, where every
// trajectory runs its own loop and a finished one is replaced at once, with
// the loop ToRA-style tool-integrated inference scripts use: a batch of 64
// generates until every sequence has closed a code block (or finished), the
// whole batch waits, all the code runs, the next round starts; the next
// batch starts when the last sequence of this one is done. Both sides use
// the same hint logic (hint.Run), problems, sim config and concurrency; only
// the barrier differs.
func BenchmarkContinuousVsEpochBarrier(b *testing.B) {
	b.ReportAllocs()
	s := newBenchSetup(b)
	var cont, barrier float64
	for i := 0; i < b.N*benchRounds; i++ {
		sum, _ := s.runInfer(b)
		cont = max(cont, float64(sum.CompletionTokens)/sum.Elapsed.Seconds())
		barrier = max(barrier, s.epochBarrierTokensPerSec(b))
	}
	fmt.Printf("BENCH continuous_tokens_per_s_c64 %.0f tok/s\n", cont)
	fmt.Printf("BENCH epoch_barrier_tokens_per_s_c64 %.0f tok/s\n", barrier)
	fmt.Printf("BENCH continuous_vs_epoch_barrier_x %.2f x\n", cont/barrier)
}

// epochBarrierTokensPerSec runs the baseline on a fresh sim and returns its
// completion tokens per second.
func (s benchSetup) epochBarrierTokensPerSec(b *testing.B) float64 {
	b.Helper()
	_, url := startSim(b, s.cfg)
	eng := newEngines(b, url)
	tools := &infer.Tools{Router: s.tools}
	var tokens atomic.Int64
	start := time.Now()
	for lo := 0; lo < len(s.problems); lo += benchConcurrency {
		batch := s.problems[lo:min(lo+benchConcurrency, len(s.problems))]
		bar := newEpochBarrier(len(batch))
		g, ctx := errgroup.WithContext(b.Context())
		for _, p := range batch {
			g.Go(func() error {
				defer bar.leave()
				inner, err := tools.Open(ctx, p.ID)
				if err != nil {
					return err
				}
				sess := &barrierSession{ToolSession: inner, bar: bar}
				defer sess.Close(context.WithoutCancel(ctx))
				tr, err := hint.Run(ctx, eng.Pick(), sess, p, paperHints())
				if err != nil {
					return fmt.Errorf("problem %s: %w", p.ID, err)
				}
				tokens.Add(int64(tr.Tokens.Completion))
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatalf("epoch barrier batch: %v", err)
		}
	}
	return float64(tokens.Load()) / time.Since(start).Seconds()
}

// epochBarrier holds tool calls until every sequence of the batch still
// running is waiting on one: the end of a generation round.
type epochBarrier struct {
	mu      sync.Mutex
	active  int
	waiting int
	release chan struct{} // closed when the current round ends
}

func newEpochBarrier(n int) *epochBarrier {
	return &epochBarrier{active: n, release: make(chan struct{})}
}

// wait blocks until the round ends or ctx does.
func (e *epochBarrier) wait(ctx context.Context) error {
	e.mu.Lock()
	e.waiting++
	ch := e.release
	e.endRoundLocked()
	e.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave takes a finished sequence out of the batch.
func (e *epochBarrier) leave() {
	e.mu.Lock()
	e.active--
	e.endRoundLocked()
	e.mu.Unlock()
}

func (e *epochBarrier) endRoundLocked() {
	if e.waiting > 0 && e.waiting == e.active {
		close(e.release)
		e.release = make(chan struct{})
		e.waiting = 0
	}
}

// barrierSession makes each tool call wait for the round's end first.
type barrierSession struct {
	hint.ToolSession
	bar *epochBarrier
}

func (s *barrierSession) Exec(ctx context.Context, lang, code string) (hint.ToolResult, error) {
	if err := s.bar.wait(ctx); err != nil {
		return hint.ToolResult{}, err
	}
	return s.ToolSession.Exec(ctx, lang, code)
}

// codeTable is a python tool for the sim's own code: it knows what Debian's
// Python prints for the program the sim writes for each problem, and
// answers in-process. Code it does not know is a miss, counted, answered
// with an error output.
type codeTable struct {
	out    map[string]string
	misses atomic.Int64
}

// newCodeTable runs sim.ToolCode of every problem through one Python
// process (outside any sandbox: it is the sim's trusted code).
func newCodeTable(b *testing.B, problems []trajectory.Problem) *codeTable {
	b.Helper()
	needSandbox(b) // Debian's Python with sympy
	codes := make([]string, len(problems))
	for i, p := range problems {
		codes[i] = sim.ToolCode(p, false)
	}
	in, err := json.Marshal(codes)
	if err != nil {
		b.Fatal(err)
	}
	const runner = `
import contextlib, io, json, sys
outs = []
for code in json.load(sys.stdin):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(code, {"__name__": "__main__"})
    outs.append(buf.getvalue())
json.dump(outs, sys.stdout)
`
	cmd := exec.CommandContext(b.Context(), debianPython, "-c", runner)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("precompute tool outputs: %v\n%s", err, stderr.String())
	}
	var outs []string
	if err := json.Unmarshal(stdout.Bytes(), &outs); err != nil || len(outs) != len(codes) {
		b.Fatalf("precompute tool outputs: %v (%d outputs for %d programs)", err, len(outs), len(codes))
	}
	t := &codeTable{out: make(map[string]string, len(codes))}
	for i, c := range codes {
		t.out[c] = outs[i]
	}
	return t
}

func (t *codeTable) Tool(lang string) (plugins.Tool, bool) {
	return t, lang == "python" || lang == "py"
}
func (t *codeTable) Languages() []string { return []string{"python"} }

func (t *codeTable) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Name: "code-table", Languages: []string{"python"}}, nil
}

func (t *codeTable) Open(context.Context, plugins.OpenRequest) (string, error) { return "s", nil }
func (t *codeTable) Close(context.Context, string) error                       { return nil }

func (t *codeTable) Exec(ctx context.Context, req plugins.ExecRequest) (plugins.ExecResult, error) {
	if err := ctx.Err(); err != nil {
		return plugins.ExecResult{}, err
	}
	out, ok := t.out[req.Code]
	if !ok {
		t.misses.Add(1)
		return plugins.ExecResult{Stderr: "NameError: code-table has no output for this code", ExitCode: 1}, nil
	}
	return plugins.ExecResult{Stdout: out}, nil
}

func per(a int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(a) / float64(n)
}
