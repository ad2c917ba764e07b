package curate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/plugins/python"
	"github.com/hintfleet/hintfleet/trajectory"
)

// BenchmarkMathGrader grades the equivalence corpus (extraction and
// comparison of every pair) for a fixed time: the rate of the built-in
// grader, sympy never asked. It also reports the corpus agreement and the
// share of not-equal pairs called equal.
func BenchmarkMathGrader(b *testing.B) {
	cases := loadCorpus(b)
	var g MathGrader
	agree, falseEqual, notEqual, bad := corpusResult(&g, cases)
	for _, s := range bad {
		b.Log(s)
	}
	fmt.Printf("BENCH grade_corpus_agreement_pct %.2f %%\n", 100*float64(agree)/float64(len(cases)))
	fmt.Printf("BENCH grade_false_equal_pct %.2f %%\n", 100*float64(falseEqual)/float64(max(notEqual, 1)))
	ctx := context.Background()
	n := 0
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		for _, c := range cases {
			g.GradeAnswer(ctx, c.Answer, c.Reference)
			n++
		}
	}
	fmt.Printf("BENCH grade_math_per_s %.0f answers/s\n", float64(n)/time.Since(start).Seconds())
}

// BenchmarkSympyFallback compares translated answers with sympy in the
// sandbox, one reused session per CPU, for a fixed time.
func BenchmarkSympyFallback(b *testing.B) {
	interp, err := python.New(python.WithPoolSize(runtime.NumCPU()))
	if err != nil {
		b.Skip(err)
	}
	defer interp.Stop()
	s := &Sympy{Runner: ToolRunner{Tool: interp}}
	defer s.Close(context.Background())
	pairs := [][2]string{
		{`\frac{x^2-1}{x-1}`, "x+1"}, {`\sin^2 x + \cos^2 x`, "1"}, {`\sum_{k=1}^{n} k`, `\frac{n(n+1)}{2}`},
		{`2^{10000}+1`, `2^{10000}`}, {`\gcd(12, 18)`, "6"}, {`x \le 5`, `(-\infty, 5]`}, {`\{1, 2\}`, `\{2, 1\}`},
		{`2x + 4y = 3`, `y = -\frac{1}{2}x + \frac{3}{4}`}, {`\arctan 1`, `\frac{\pi}{4}`}, {`\sqrt{8}`, `2\sqrt{2}`},
	}
	var translated [][2]string
	for _, p := range pairs {
		a, err1 := ToSympy(p[0])
		r, err2 := ToSympy(p[1])
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		translated = append(translated, [2]string{a, r})
	}
	ctx := context.Background()
	if _, err := s.Equivalent(ctx, translated[0][0], translated[0][1]); err != nil { // warm the sessions
		b.Fatal(err)
	}
	var n atomic.Int64
	start := time.Now()
	eg, ctx := errgroup.WithContext(ctx)
	for w := range runtime.NumCPU() {
		eg.Go(func() error {
			for i := w; time.Since(start) < 3*time.Second; i++ {
				p := translated[i%len(translated)]
				if _, err := s.Equivalent(ctx, p[0], p[1]); err != nil {
					return err
				}
				n.Add(1)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("BENCH grade_sympy_fallback_per_s %.1f comparisons/s\n", float64(n.Load())/time.Since(start).Seconds())
}

// BenchmarkCodeGrader grades, in the sandbox, every HumanEval canonical
// solution and a broken variant of each (328 programs, one check each), and
// 64 stdin/stdout programs with 20 tests each, LiveCodeBench style, after one
// warm-up program per worker: the steady rate a curation run sees.
func BenchmarkCodeGrader(b *testing.B) {
	ps, err := trajectory.LoadDataset("humaneval", "")
	if err != nil {
		b.Fatal(err)
	}
	r, stop, err := benchSandbox()
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	g := &CodeGrader{Sandbox: r}
	defer g.Close(context.Background())
	type program struct {
		run  func(ctx context.Context) (CodeVerdict, error)
		want bool
	}
	var progs []program
	for _, p := range ps {
		code := p.Question + p.CanonicalCode
		progs = append(progs,
			program{func(ctx context.Context) (CodeVerdict, error) { return g.HumanEval(ctx, code, p.Test, p.EntryPoint) }, true},
			program{func(ctx context.Context) (CodeVerdict, error) {
				return g.HumanEval(ctx, BrokenVariant(code, p.EntryPoint), p.Test, p.EntryPoint)
			}, false})
	}
	for i := range 64 {
		var cases []IOCase
		for j := range 20 {
			cases = append(cases, IOCase{Input: fmt.Sprintf("%d\n%d %d\n", j+1, i, j), Output: fmt.Sprint((i + j) * (j + 1))})
		}
		prog := "n = int(input())\na, b = map(int, input().split())\nprint((a + b) * n)\n"
		if i%2 == 1 {
			prog = "import sys\nn, a, b = map(int, sys.stdin.read().split())\nprint((a + b) * n + 1)\n"
		}
		progs = append(progs, program{func(ctx context.Context) (CodeVerdict, error) { return g.StdIO(ctx, prog, cases) }, i%2 == 0})
	}
	ctx := context.Background()
	warm, _ := errgroup.WithContext(ctx)
	for range runtime.NumCPU() {
		warm.Go(func() error { _, err := progs[0].run(ctx); return err })
	}
	if err := warm.Wait(); err != nil {
		b.Fatal(err)
	}
	var wrong atomic.Int32
	start := time.Now()
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(2 * runtime.NumCPU())
	for _, p := range progs {
		eg.Go(func() error {
			v, err := p.run(ctx)
			if v.Pass != p.want {
				wrong.Add(1)
			}
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		b.Fatal(err)
	}
	if wrong.Load() != 0 {
		b.Fatalf("%d of %d programs graded wrong", wrong.Load(), len(progs))
	}
	fmt.Printf("BENCH grade_code_per_s %.1f programs/s\n", float64(len(progs))/time.Since(start).Seconds())
}

// BenchmarkCurate100k curates 100,000 generated trajectories (regrading,
// every default filter, rewrites, two export formats) and reports the time
// and the peak Go heap, which must stay flat: the pass streams.
func BenchmarkCurate100k(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "trajectories.jsonl")
	w, err := trajectory.OpenWriter(in)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	filler := strings.Repeat("We reason about the quantity step by step and check it. ", 20)
	for i := 0; i < n; i++ {
		ans := fmt.Sprint(i % 97)
		ref := ans
		if i%3 == 0 {
			ref = fmt.Sprint(i%97 + 1)
		}
		tr := traj(fmt.Sprint("t", i), fmt.Sprint("p", i%5000), ans, ref,
			gen(fmt.Sprintf("Problem %d. %s", i, filler)), hintStep("Wait, maybe using Python here is a good idea.\n"),
			code(fmt.Sprintf("```python\nprint(%s)\n```", ans)), output(fmt.Sprintf("\n```output\n%s\n```\n", ans), 0),
			gen(fmt.Sprintf("The output is %s, so \\boxed{%s}.", ans, ans)))
		if err := w.Append(tr); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	st, _ := os.Stat(in)

	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	rep, err := Run(context.Background(), Options{Inputs: []string{in}, OutDir: dir, Formats: []Format{FormatMessages, FormatParquet}, Grader: &MathGrader{}})
	elapsed := time.Since(start)
	close(done)
	<-sampled
	if err != nil {
		b.Fatal(err)
	}
	if rep.Funnel.In != n {
		b.Fatalf("curated %d of %d", rep.Funnel.In, n)
	}
	fmt.Printf("BENCH curate_100k_s %.1f s\n", elapsed.Seconds())
	fmt.Printf("BENCH curate_100k_input_mb %.0f MB\n", float64(st.Size())/(1<<20))
	fmt.Printf("BENCH curate_100k_peak_heap_mb %.1f MB\n", float64(peak.Load())/(1<<20))
	fmt.Printf("BENCH curate_per_s %.0f trajectories/s\n", float64(n)/elapsed.Seconds())
}

func benchSandbox() (ToolRunner, func(), error) {
	interp, err := python.New(python.WithPoolSize(runtime.NumCPU()), python.WithPreload())
	if err != nil {
		return ToolRunner{}, nil, err
	}
	return ToolRunner{Tool: interp}, interp.Stop, nil
}
