package curate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/plugins/python"
	"github.com/hintfleet/hintfleet/trajectory"
)

// TestMath500ReferenceAnswers is the grader's validation on real data: the
// last \boxed{} of every MATH500 reference solution must grade equal to the
// row's answer (500/500).
func TestMath500ReferenceAnswers(t *testing.T) {
	ps, err := trajectory.LoadDataset("math500", "")
	if err != nil {
		t.Fatal(err)
	}
	var g MathGrader
	equal, methods := 0, map[string]int{}
	for _, p := range ps {
		v := g.Grade(context.Background(), ExtractResponse(p.Solution).Answer, p.Answer)
		if v.Equal {
			equal++
			methods[v.Method]++
		} else {
			t.Errorf("%s: extracted %q, answer %q: %s %s", p.ID, v.Answer, v.Reference, v.Method, v.Detail)
		}
	}
	if len(ps) != 500 || equal != 500 {
		t.Fatalf("%d/%d reference answers grade equal, want 500/500", equal, len(ps))
	}
	t.Logf("MATH500 reference answers: %d/500 equal, by method %v", equal, methods)
}

// sandbox starts the real bubblewrap-sandboxed interpreter in process.
func sandbox(t *testing.T, opts ...python.Option) ToolRunner {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bwrap missing: make deps installs bubblewrap")
		}
		t.Skip("bwrap missing (make deps installs bubblewrap)")
	}
	interp, err := python.New(append([]python.Option{python.WithPoolSize(4)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(interp.Stop)
	return ToolRunner{Tool: interp}
}

// TestHumanEvalCanonicalAndBroken runs every HumanEval canonical solution
// against its tests in the sandbox (all must pass), and a broken variant of
// each (all must fail).
func TestHumanEvalCanonicalAndBroken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 328 sandboxed programs")
	}
	ps, err := trajectory.LoadDataset("humaneval", "")
	if err != nil {
		t.Fatal(err)
	}
	g := &CodeGrader{Sandbox: sandbox(t, python.WithPreload()), Timeout: 20 * time.Second}
	t.Cleanup(func() { g.Close(context.Background()) })
	var passed, failedBroken atomic.Int32
	eg, ctx := errgroup.WithContext(context.Background())
	eg.SetLimit(4)
	for _, p := range ps {
		eg.Go(func() error {
			prog := p.Question + p.CanonicalCode
			v, err := g.HumanEval(ctx, prog, p.Test, p.EntryPoint)
			if err != nil {
				return err
			}
			if v.Pass {
				passed.Add(1)
			} else {
				t.Errorf("%s canonical: %+v", p.ID, v.Tests)
			}
			v, err = g.HumanEval(ctx, BrokenVariant(prog, p.EntryPoint), p.Test, p.EntryPoint)
			if err != nil {
				return err
			}
			if !v.Pass {
				failedBroken.Add(1)
			} else {
				t.Errorf("%s broken variant passed its tests", p.ID)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	if passed.Load() != 164 || failedBroken.Load() != 164 {
		t.Fatalf("canonical pass %d/164, broken fail %d/164", passed.Load(), failedBroken.Load())
	}
}

func TestStdIOGrader(t *testing.T) {
	g := &CodeGrader{Sandbox: sandbox(t, python.WithPreload()), Timeout: 10 * time.Second}
	t.Cleanup(func() { g.Close(context.Background()) })
	prog := "n = int(input())\nprint(sum(int(x) for x in input().split()) * n)\n"
	v, err := g.StdIO(context.Background(), prog, []IOCase{{"2\n1 2 3\n", "12\n"}, {"1\n5\n", "5"}, {"3\n1\n", "4"}})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(v.Tests[0].Outcome, v.Tests[1].Outcome, v.Tests[2].Outcome)
	if v.Pass || got != "passpassfail" {
		t.Errorf("outcomes %s (pass=%v), want pass pass fail", got, v.Pass)
	}
	g.Timeout = 2 * time.Second
	loop, err := g.StdIO(context.Background(), "while True: pass", []IOCase{{"", ""}})
	if err != nil || loop.Tests[0].Outcome != TestTimeout {
		t.Errorf("infinite loop: %+v, %v; want timeout", loop, err)
	}
}

func TestSympyInSandbox(t *testing.T) {
	s := &Sympy{Runner: sandbox(t), Workers: 1}
	t.Cleanup(func() { s.Close(context.Background()) })
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`\frac{x^2-1}{x-1}`, "x+1", true},
		{`\frac{x^2-1}{x-1}`, "x+2", false},
		{`\sqrt{8}`, `2\sqrt{2}`, true},
		{`2^{10000}`, `2^{10000}`, true},
		{`2^{10000}+1`, `2^{10000}`, false},
		{`\sum_{k=1}^{n} k`, `\frac{n(n+1)}{2}`, true},
		{`\sum_{k=1}^{n} k^2`, `\frac{n(n+1)}{2}`, false},
		{`\sin^2 x + \cos^2 x`, "1", true},
		{`\arctan 1`, `\frac{\pi}{4}`, true},
		{`\gcd(12, 18)`, "6", true},
		{`x \le 5`, `(-\infty, 5]`, true},
		{`x < 5`, `(-\infty, 5]`, false},
		{`(1, 2)`, `(1, 2)`, true},
		{`\{1, 2\}`, `\{2, 1\}`, true},
		{`2x + 4y = 3`, `y = -\frac{1}{2}x + \frac{3}{4}`, true},
	} {
		sa, err := ToSympy(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := ToSympy(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Equivalent(context.Background(), sa, sb)
		if err != nil || got != tc.want {
			t.Errorf("Equivalent(%q, %q) [%s vs %s] = %v, %v; want %v", tc.a, tc.b, sa, sb, got, err, tc.want)
		}
	}
	if _, err := s.Equivalent(context.Background(), "Rational(", "1"); err == nil {
		t.Error("unparsable answer: want an error, got a verdict")
	}
	// A comparison that runs past the time limit is an error, and the next
	// one gets a new session.
	slow := &Sympy{Runner: s.Runner, Timeout: time.Second, Workers: 1}
	t.Cleanup(func() { slow.Close(context.Background()) })
	if _, err := slow.Equivalent(context.Background(), "factorial(10**9)", "1"); err == nil {
		t.Error("slow comparison: want an error")
	}
	if eq, err := slow.Equivalent(context.Background(), "Rational(1, 2)", "Float(0.5)"); err != nil || !eq {
		t.Errorf("after a timeout: %v, %v; want equal", eq, err)
	}
}
