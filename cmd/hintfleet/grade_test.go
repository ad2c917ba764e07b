package main

import (
	"strings"
	"testing"
)

// TestGradeFileLines: grade --file prints exactly one line per input line,
// refused lines included, names each refused line as FILE:LINE: field "x",
// and exits 1 when any line was refused.
func TestGradeFileLines(t *testing.T) {
	pairs := writeFile(t, "pairs.jsonl", strings.Join([]string{
		`{"answer": "so the answer is $\\boxed{\\dfrac12}$.", "reference": "0.5"}`,
		`{"answer": "a + 3z = 0", "reference": "0", "why": "x"}`,
		`{"answer": "a + 3z = 0", "reference": "0"}`,
		``,
	}, "\n")+"\n")
	r := cli(t, "grade", "--file", pairs)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d output lines for 4 input lines:\n%s", len(lines), r.stdout)
	}
	for i, want := range []string{"1\tEQUAL by numeric", "2\tREFUSED\t" + pairs + `:2: field "why": unknown field`, "3\tNOT EQUAL by equation", "4\tREFUSED\t" + pairs + ":4: empty line"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i+1, lines[i], want)
		}
	}
	if !strings.Contains(r.stderr, pairs+`:2: field "why"`) || !strings.Contains(r.stderr, "2 lines refused") {
		t.Errorf("stderr %q: want the refused line and the count", r.stderr)
	}
}
