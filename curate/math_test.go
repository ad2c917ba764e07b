package curate

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
)

// TestEquivalenceTable runs the table of real MATH answer formats in
// testdata/equivalence.tsv: answer, reference, want (1 equal, 0 not), note.
func TestEquivalenceTable(t *testing.T) {
	f, err := os.Open("testdata/equivalence.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var g MathGrader
	sc := bufio.NewScanner(f)
	line, cases, equal := 0, 0, 0
	for sc.Scan() {
		line++
		if strings.HasPrefix(sc.Text(), "#") || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("equivalence.tsv:%d: want 4 tab-separated columns, got %d", line, len(cols))
		}
		cases++
		want := cols[2] == "1"
		if want {
			equal++
		}
		t.Run(cols[3], func(t *testing.T) {
			v := g.Grade(context.Background(), cols[0], cols[1])
			if v.Equal != want {
				t.Errorf("equivalence.tsv:%d: Grade(%q, %q) = %v by %s (%q vs %q, %s), want %v",
					line, cols[0], cols[1], v.Equal, v.Method, v.Answer, v.Reference, v.Detail, want)
			}
		})
	}
	if cases < 150 || equal == cases || equal == 0 {
		t.Fatalf("table has %d cases (%d equal): want at least 150 with both verdicts", cases, equal)
	}
}

func TestVerdictSaysHow(t *testing.T) {
	var g MathGrader
	for _, tc := range []struct{ a, r, method string }{
		{"4", "4", MethodString},
		{`\frac{1}{2}`, "0.5", MethodNumeric},
		{"(x+1)^2", "x^2+2x+1", MethodIdentity},
		{"(2,4)", "(2, 5)", MethodList},
		{"(B)", `\text{(C)}`, MethodChoice},
		{"5x - 7y + 11z + 4 = 0", "-10x + 14y - 22z - 8 = 0", MethodEquation},
		{"", "5", MethodEmpty},
	} {
		if v := g.Grade(context.Background(), tc.a, tc.r); v.Method != tc.method {
			t.Errorf("Grade(%q, %q).Method = %q, want %q", tc.a, tc.r, v.Method, tc.method)
		}
	}
}

type fakeSymbolic struct{ calls int }

func (f *fakeSymbolic) Equivalent(_ context.Context, a, r string) (bool, error) {
	f.calls++
	return a == `parse("gcd(12, 18)")` && r == `Rational("6")`, nil
}

func TestSymbolicFallback(t *testing.T) {
	s := &fakeSymbolic{}
	g := MathGrader{Symbolic: s}
	v := g.Grade(context.Background(), `\gcd(12, 18)`, "6")
	if !v.Equal || v.Method != MethodSymbolic || s.calls != 1 {
		t.Fatalf("verdict %+v after %d sympy calls, want equal by sympy after 1", v, s.calls)
	}
	// Decided numerically: sympy is not asked.
	if v := g.Grade(context.Background(), "2", "2.0"); !v.Equal || s.calls != 1 {
		t.Fatalf("verdict %+v, sympy calls %d: want equal without sympy", v, s.calls)
	}
}

func FuzzGrade(f *testing.F) {
	for _, s := range []string{`\frac{1}{2}`, `(-\infty, 2) \cup (3, \infty)`, `\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, "1 \\pm \\sqrt{19}", "x=5", "204_5", `\sqrt[3]{-8}`} {
		f.Add(s, "0.5")
	}
	var g MathGrader
	f.Fuzz(func(t *testing.T, a, r string) {
		v := g.Grade(context.Background(), a, r)
		if v.Method == "" {
			t.Fatalf("Grade(%q, %q): verdict without a method", a, r)
		}
		if w := g.Grade(context.Background(), a, r); w != v {
			t.Fatalf("Grade(%q, %q) not deterministic: %+v then %+v", a, r, v, w)
		}
	})
}

// FuzzToSympy feeds the translator arbitrary answers: it must return a
// translation or an error, never panic, and a textual translation holds
// only names, numbers, operators and brackets.
func FuzzToSympy(f *testing.F) {
	for _, s := range []string{`\frac{1}{2}`, `\sum_{k=1}^{n} k`, `x \le 5`, `(p, q) = (3, 2)`, `\gcd(12, 18)`, `\lfloor x \rfloor`, `|x|`, `a_{n+1}`, `\sin^{-1} x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ToSympy(s)
		if err != nil {
			return
		}
		if strings.Contains(out, "parse(") && strings.ContainsAny(out, "`;\\$") {
			t.Fatalf("ToSympy(%q) = %q: unsafe characters", s, out)
		}
	})
}

func TestToSympy(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\frac{1}{2}`, `(Rational("1")/Rational("2"))`},
		{`a_1 + x`, `(Symbol("a_1")+Symbol("x"))`},
		{`x \le 5`, `Le(Symbol("x"), Rational("5"))`},
		{`[1, 2)`, `Interval(Rational("1"), Rational("2"), False, True)`},
		{`\{1, 2\}`, `FiniteSet(Rational("1"), Rational("2"))`},
		{`y = 2x`, `Eq(Symbol("y"), (Rational("2")*Symbol("x")), evaluate=False)`},
		{`\gcd(12, 18)`, `parse("gcd(12, 18)")`},
		{`\arcsin x`, `asin(Symbol("x"))`},
	} {
		got, err := ToSympy(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ToSympy(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
