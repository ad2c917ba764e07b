package curate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGradeFileOneOutputPerLine(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "a", "answer": "so it is \\boxed{\\dfrac12}.", "reference": "0.5"}`,
		`{"answer": "7", "reference": "8", "note": "x"}`,
		``,
		`{"answer": 7, "reference": "7"}`,
		`{"answer": "7"}`,
		`not json`,
		`{"answer": "7", "reference": "7"} {}`,
		`{"answer": "The final answer is $x = 5$.", "reference": "5"}`,
	}, "\n")
	var g MathGrader
	var got []Graded
	refused, err := g.GradeFile(context.Background(), strings.NewReader(in), "pairs.jsonl", func(r Graded) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"equal",
		`pairs.jsonl:2: field "note": unknown field (want id, answer, reference)`,
		`pairs.jsonl:3: empty line, want a JSON object`,
		`pairs.jsonl:4: field "answer": want string, got number`,
		`pairs.jsonl:5: field "reference": missing`,
		`pairs.jsonl:6: not a JSON object`,
		`pairs.jsonl:7: text after the JSON object`,
		"equal",
	}
	if len(got) != len(want) || refused != 6 {
		t.Fatalf("%d outputs, %d refused for %d lines: %+v", len(got), refused, len(want), got)
	}
	for i, w := range want {
		r := got[i]
		if r.Line != i+1 {
			t.Errorf("output %d has line %d", i, r.Line)
		}
		if w == "equal" {
			if r.Error != "" || r.Verdict == nil || !r.Verdict.Equal {
				t.Errorf("line %d: %+v, want equal", i+1, r)
			}
			continue
		}
		if !strings.HasPrefix(r.Error, w) {
			t.Errorf("line %d: error %q, want prefix %q", i+1, r.Error, w)
		}
	}
	if got[0].ID != "a" || got[0].Extracted.Rule != RuleBoxed || got[0].Extracted.Answer != `\dfrac12` {
		t.Errorf("line 1 extraction %+v", got[0].Extracted)
	}
}

// TestWriteGradedPath: grade --file reads the file at its path and writes
// one line per pair, the tally on errOut; a refused line makes it an
// error after the lines are written, and a missing file is the open error.
func TestWriteGradedPath(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	bad := filepath.Join(dir, "bad.jsonl")
	for path, body := range map[string]string{
		good: `{"id": "a", "answer": "\\boxed{12}", "reference": "12"}` + "\n" + `{"answer": "3", "reference": "4"}` + "\n",
		bad:  `{"answer": "3", "reference": "3"}` + "\nnot json\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, path      string
		asJSON          bool
		out, tally, err string
	}{
		{name: "text", path: good, out: "1\tEQUAL by ", tally: "1/2 equal, 0 lines refused"},
		{name: "json", path: good, asJSON: true, out: `"line":2`, tally: "1/2 equal"},
		{name: "refused line", path: bad, out: "2\tREFUSED\t", tally: "1/1 equal, 1 lines refused", err: bad + ": 1 lines refused"},
		{name: "missing file", path: filepath.Join(dir, "none.jsonl"), err: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := (&MathGrader{}).WriteGradedPath(context.Background(), tc.path, &out, &errOut, tc.asJSON)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("WriteGradedPath = %v, want an error with %q", err, tc.err)
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.tally) {
				t.Errorf("out %q errOut %q; want %q and %q in them", out.String(), errOut.String(), tc.out, tc.tally)
			}
		})
	}
}

// TestGradedWriteText: one graded answer is its Text on a line.
func TestGradedWriteText(t *testing.T) {
	g := (&MathGrader{}).GradeAnswer(context.Background(), `\dfrac{1}{2}`, "0.5")
	var b strings.Builder
	if err := g.WriteText(&b); err != nil || b.String() != g.Text()+"\n" || !strings.HasPrefix(b.String(), "EQUAL") {
		t.Errorf("WriteText = %q, %v; want %q and a newline", b.String(), err, g.Text())
	}
}
