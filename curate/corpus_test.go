package curate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// corpusCase is one line of the equivalence corpus: an answer as a model
// writes it (bare, or a whole response), the reference, the expected
// verdict and why.
type corpusCase struct {
	Source    string `json:"source"`
	Answer    string `json:"answer"`
	Reference string `json:"reference"`
	Equal     bool   `json:"equal"`
	Why       string `json:"why"`
	line      int
	file      string
}

// loadCorpus reads every corpus*.jsonl in testdata.
func loadCorpus(tb testing.TB) []corpusCase {
	tb.Helper()
	files, err := filepath.Glob("testdata/corpus*.jsonl")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no corpus: %v", err)
	}
	var out []corpusCase
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for line := 1; sc.Scan(); line++ {
			var c corpusCase
			dec := json.NewDecoder(bytesReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				tb.Fatalf("%s:%d: %v", name, line, err)
			}
			if c.Why == "" || c.Source == "" {
				tb.Fatalf("%s:%d: want a source and a reason", name, line)
			}
			c.line, c.file = line, name
			out = append(out, c)
		}
		f.Close()
	}
	return out
}

// corpusResult grades the corpus and returns the disagreements.
func corpusResult(g *MathGrader, cases []corpusCase) (agree, falseEqual, notEqual int, bad []string) {
	for _, c := range cases {
		res := g.GradeAnswer(context.Background(), c.Answer, c.Reference)
		if !c.Equal {
			notEqual++
		}
		if res.Verdict.Equal == c.Equal {
			agree++
			continue
		}
		if res.Verdict.Equal {
			falseEqual++
		}
		bad = append(bad, fmt.Sprintf("%s:%d (%s, %s): extracted %q by %s vs %q: got equal=%v by %s (%s), want %v",
			c.file, c.line, c.Source, c.Why, res.Extracted.Answer, res.Extracted.Rule, res.Reference.Answer,
			res.Verdict.Equal, res.Verdict.Method, res.Verdict.Detail, c.Equal))
	}
	return agree, falseEqual, notEqual, bad
}

// TestCorpus grades the equivalence corpus: at least 99% agreement and no
// not-equal pair called equal.
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 600 {
		t.Fatalf("corpus has %d pairs, want at least 600", len(cases))
	}
	var g MathGrader
	agree, falseEqual, _, bad := corpusResult(&g, cases)
	for _, b := range bad {
		t.Log(b)
	}
	pct := 100 * float64(agree) / float64(len(cases))
	if falseEqual > 0 || pct < 99 {
		t.Errorf("corpus: %d/%d agree (%.2f%%), %d not-equal pairs called equal", agree, len(cases), pct, falseEqual)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
