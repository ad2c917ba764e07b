package trajectory

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/golden"
)

func TestLoadFileGolden(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		opts   []LoadOption
		format Format
	}{
		{"gpqa", "gpqa_sample.jsonl", nil, FormatGPQA},
		{"livecodebench", "livecodebench_sample.jsonl", nil, FormatLiveCodeBench},
		{"fieldmap", "fieldmap_sample.jsonl", []LoadOption{
			WithFieldMap(map[string]string{"problem": "q", "answer": "final", "id": "uid", "meta.source": "src"}),
			WithDataset("custom"),
		}, FormatGeneric},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			ps, err := LoadFile(path, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := OpenProblems(path, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			if _, err := pr.Next(); err != nil || pr.Format() != tt.format {
				t.Errorf("format %q (err %v), want %q", pr.Format(), err, tt.format)
			}
			out, err := json.MarshalIndent(ps, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name+".golden.json", append(out, '\n'))
		})
	}
}

func TestLoadFileBadInput(t *testing.T) {
	const good = `{"problem":"1+1?","answer":"2"}`
	tests := []struct {
		name   string
		in     string
		opts   []LoadOption
		line   int
		field  string
		is     error  // errors.Is target, if any
		substr string // in the error text
	}{
		{name: "malformed line", in: good + "\n{\"problem\": \"x\",\n", line: 2, substr: "invalid JSON"},
		{name: "answer is an object", in: good + "\n" + `{"problem":"p","answer":{"v":1}}` + "\n",
			line: 2, field: "answer", substr: "want string or number, got object"},
		{name: "answer is a bool", in: `{"problem":"p","answer":true}`, line: 1, field: "answer", substr: "got boolean"},
		{name: "empty file", in: "", line: 1, is: ErrNoRecords},
		{name: "blank file", in: "\n\r\n  \n", line: 3, is: ErrNoRecords},
		{name: "missing question", in: good + "\n" + `{"answer":"3"}` + "\n", line: 2, field: "problem", is: ErrMissingField},
		{name: "empty question", in: `{"problem":"  ","answer":"3"}`, line: 1, field: "problem", is: ErrMissingField},
		{name: "question wrong type", in: `{"problem":["a"],"answer":"3"}`, line: 1, field: "problem", substr: "want string, got array"},
		{name: "bom and crlf, bad line 3", in: "\xEF\xBB\xBF" + good + "\r\n\r\n" + `{"problem":"p","answer":[1]}` + "\r\n",
			line: 3, field: "answer", substr: "got array"},
		{name: "id is an object", in: `{"id":{},"problem":"p","answer":"1"}`, line: 1, field: "id"},
		{name: "duplicate id", in: `{"id":7,"problem":"p","answer":"1"}` + "\n" + `{"id":"7","problem":"q","answer":"1"}`,
			line: 2, substr: `duplicate id "7" (first on line 1)`},
		{name: "gsm8k without final", in: `{"question":"q","answer":"a\n#### 1"}` + "\n" + `{"question":"q","answer":"no final"}`,
			line: 2, field: "answer", substr: "####"},
		{name: "humaneval missing entry point", opts: []LoadOption{WithFormat(FormatHumanEval)},
			in: `{"task_id":"H/0","prompt":"def f():","test":"def check(c): pass"}`, line: 1, field: "entry_point", is: ErrMissingField},
		{name: "gpqa missing distractor", in: `{"Question":"q","Correct Answer":"a","Incorrect Answer 1":"b","Incorrect Answer 2":"c"}`,
			line: 1, field: "Incorrect Answer 3", is: ErrMissingField},
		{name: "livecodebench bad tests", in: `{"question_id":"x","question_content":"q","public_test_cases":"[{\"input\": 1}]"}`,
			line: 1, field: "public_test_cases", substr: "want a JSON array"},
		{name: "livecodebench tests not json", in: `{"question_id":"x","question_content":"q","public_test_cases":"[{"}`,
			line: 1, field: "public_test_cases", substr: "valid JSON"},
		{name: "field map missing field", opts: []LoadOption{WithFieldMap(map[string]string{"question": "q"})},
			in: `{"q":"a"}` + "\n" + `{"x":"b"}`, line: 2, field: "q", is: ErrMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.jsonl")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFile(path, tt.opts...)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if pe.File != path || pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("at %s:%d field %q, want %s:%d field %q (%v)", pe.File, pe.Line, pe.Field, path, tt.line, tt.field, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.substr) || !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("err text %q, want prefix %s: and %q", err, path, tt.substr)
			}
		})
	}
}

func TestLoadFileKeepsGoodRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	var b strings.Builder
	for i := range 30 {
		if i%3 == 1 {
			b.WriteString("{broken\n")
			continue
		}
		b.WriteString(`{"problem":"p","answer":1}` + "\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	ps, err := LoadFile(path)
	if len(ps) != 20 {
		t.Errorf("kept %d problems, want 20", len(ps))
	}
	if err == nil || strings.Count(err.Error(), "\n") != 9 {
		t.Errorf("want 10 joined line errors, got %v", err)
	}
	if ps[1].ID != "mixed/2" {
		t.Errorf("fallback id %q, want mixed/2 (index among records)", ps[1].ID)
	}
}

func TestLoadFileUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(path, []byte(`{"foo":1,"bar":2}`+"\n"), 0o644)
	_, err := LoadFile(path)
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), path+":1:") ||
		!strings.Contains(err.Error(), "bar, foo") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadOptionsValidated(t *testing.T) {
	tests := []struct {
		name string
		opt  LoadOption
	}{
		{"bad format", WithFormat("csv")},
		{"bad field map key", WithFieldMap(map[string]string{"final": "answer"})},
		{"empty field map value", WithFieldMap(map[string]string{"answer": ""})},
		{"bad kind", WithKind("poetry")},
		{"empty dataset", WithDataset("")},
		{"bad reader option", WithReaderOptions(WithMaxLineSize(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadFile(filepath.Join("testdata", "gpqa_sample.jsonl"), tt.opt); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"27.0", "27"}, {"70", "70"}, {"-3.00", "-3"}, {"0.5", "0.5"}, {"0.50", "0.5"},
		{"1e3", "1000"}, {"2.5E-1", "0.25"}, {"-0", "0"}, {"-0.0", "0"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{"1e300", "1e+300"}, {"x", "x"},
	}
	for _, tt := range tests {
		if got := CanonicalNumber(tt.in); got != tt.want {
			t.Errorf("CanonicalNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShuffleByIDStable(t *testing.T) {
	// Fixed forever: a change here reshuffles every GPQA prompt.
	tests := []struct {
		id   string
		want []int
	}{
		{"recA1b2C3d4", []int{3, 2, 1, 0}},
		{"recZ9y8X7w6", []int{1, 3, 0, 2}},
	}
	for _, tt := range tests {
		for range 3 {
			if got := shuffleByID(tt.id, 4); !equalInts(got, tt.want) {
				t.Fatalf("shuffle(%q) = %v then %v", tt.id, tt.want, got)
			}
		}
	}
	// The correct answer lands on every letter for some id.
	pos := map[int]bool{}
	for i := range 64 {
		for p, src := range shuffleByID("id"+string(rune('a'+i%26))+string(rune('0'+i/26)), 4) {
			if src == 0 {
				pos[p] = true
			}
		}
	}
	if len(pos) != 4 {
		t.Errorf("correct answer positions %v, want all 4", pos)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestProblemReaderStops(t *testing.T) {
	src := strings.NewReader(`{"problem":"a","answer":1}` + "\n" + `{"problem":"b","answer":2}` + "\n")
	pr, err := NewProblemReader(src, "s.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := errors.New("drain")
	var n int
	var last error
	for _, err := range pr.All(ctx) {
		if err != nil {
			last = err
			break
		}
		n++
		cancel(stop)
	}
	if n != 1 || !errors.Is(last, stop) {
		t.Fatalf("read %d then %v; want 1 then the cancel cause", n, last)
	}
}
