package curate

import (
	"context"
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
