package trajectory

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the JSONL reader and the problem
// loader: they must never panic, and every error about the input must be a
// *ParseError whose line exists and comes after the previous one.
func FuzzReader(f *testing.F) {
	seeds := []string{
		`{"task_id":"t1","job_id":"j","problem_id":"p","sample":0,"prompt":"Q","text":"A","steps":[{"kind":"gen","text":"A","offset":0}],"tool_calls":0,"hints":0,"answer":"4","correct":true,"finish_reason":"stop","tokens":{"prompt":1,"completion":2,"wasted":0},"requests":1,"engine":{"url":"http://e","model":"m"},"attempt":1,"timings":{"start":"2025-01-01T00:00:00Z","total_ms":1,"engine_ms":1,"tool_ms":0}}` + "\n",
		`{"problem": "If $2^8=4^x$, what is the value of $x$?", "level": "1", "solution": "$x=\\boxed{4}$.", "subject": "Algebra", "answer": "4"}` + "\n",
		`{"id":0,"problem":"Cities","answer":27.0,"url":"https:\/\/aops"}` + "\r\n",
		`{"question":"Janet","answer":"16 - 3 = <<16-3=13>>13\n#### 18","idx":0}` + "\n\n",
		`{"task_id": "HumanEval/0", "prompt": "def f():\n", "entry_point": "f", "canonical_solution": "    pass\n", "test": "def check(candidate): pass"}`,
		"\xEF\xBB\xBF{\"a\":1}\n{oops\n\n[1,2]\nnull\n",
		`{"Question":"q","Correct Answer":"a","Incorrect Answer 1":"b","Incorrect Answer 2":"c","Incorrect Answer 3":"d"}`,
		`{"question_id":"x","question_content":"q","public_test_cases":"[{\"input\":\"1\",\"output\":\"1\",\"testtype\":\"stdin\"}]"}`,
		`{"tokens":{"prompt":"x"}}` + "\n" + `{"steps":[{"kind":1}]}`,
		"\n\r\n\"\\u12\"\n{\"a\":\"\xff\"}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := bytes.Count(in, []byte{'\n'}) + 1
		check := func(err error, prev *int) {
			var pe *ParseError
			if !errors.As(err, &pe) {
				if errors.Is(err, ErrUnknownFormat) {
					return
				}
				t.Fatalf("error %v (%T) is not a ParseError", err, err)
			}
			if pe.Line < 1 || pe.Line > lines || pe.Line <= *prev {
				t.Fatalf("error on line %d (previous %d, input has %d): %v", pe.Line, *prev, lines, err)
			}
			if pe.File != "fuzz.jsonl" || pe.Err == nil {
				t.Fatalf("bad ParseError %#v", pe)
			}
			*prev = pe.Line
		}

		r, err := NewReader[Trajectory](bytes.NewReader(in), WithName("fuzz.jsonl"), WithMaxLineSize(512))
		if err != nil {
			t.Fatal(err)
		}
		prev := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				check(err, &prev)
			}
		}

		pr, err := NewProblemReader(bytes.NewReader(in), "fuzz.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		prev = 0
		for {
			_, err := pr.Next()
			if err == io.EOF || errors.Is(err, ErrUnknownFormat) {
				break
			}
			if err != nil {
				check(err, &prev)
			}
		}
	})
}
