package trajectory

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

type rec struct {
	A string `json:"a"`
	N int    `json:"n"`
}

// readAll drains a Reader, returning records and errors in order.
func readAll[T any](t *testing.T, r *Reader[T]) ([]T, []error) {
	t.Helper()
	var got []T
	var errs []error
	for v, err := range r.All() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, v)
	}
	return got, errs
}

func TestReaderLines(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []rec
		lines []int // line numbers of errors
		errs  []string
	}{
		{name: "empty", in: ""},
		{name: "plain", in: `{"a":"x","n":1}` + "\n" + `{"a":"y","n":2}` + "\n",
			want: []rec{{"x", 1}, {"y", 2}}},
		{name: "no final newline", in: `{"a":"x"}` + "\n" + `{"n":2}`,
			want: []rec{{"x", 0}, {"", 2}}},
		{name: "bom", in: "\xEF\xBB\xBF" + `{"a":"x"}` + "\n", want: []rec{{"x", 0}}},
		{name: "crlf", in: `{"a":"x"}` + "\r\n" + `{"a":"y"}` + "\r\n", want: []rec{{"x", 0}, {"y", 0}}},
		{name: "blank lines", in: "\n  \n" + `{"a":"x"}` + "\n\r\n\t\n" + `{"a":"y"}` + "\n\n",
			want: []rec{{"x", 0}, {"y", 0}}},
		{name: "bad json continues", in: `{"a":"x"}` + "\n{oops\n" + `{"a":"y"}` + "\n",
			want: []rec{{"x", 0}, {"y", 0}}, lines: []int{2},
			errs: []string{"f.jsonl:2: invalid JSON at byte 2: invalid character 'o' looking for beginning of object key string"}},
		{name: "wrong type", in: "\n" + `{"a":5}` + "\n",
			lines: []int{2}, errs: []string{`f.jsonl:2: field "a": want string, got number`}},
		{name: "not an object", in: "[1,2]\nnull\n",
			lines: []int{1, 2}, errs: []string{`f.jsonl:1: want object, got array`, `f.jsonl:2: want object, got null`}},
		{name: "trailing data", in: `{"a":"x"} {}` + "\n", lines: []int{1},
			errs: []string{"f.jsonl:1: invalid JSON at byte 11: invalid character '{' after top-level value"}},
		{name: "truncated", in: `{"a":"x`, lines: []int{1},
			errs: []string{"f.jsonl:1: invalid JSON at byte 7: unexpected end of JSON input"}},
		{name: "bom only on line 1", in: "{}\n\xEF\xBB\xBF{}\n", want: []rec{{}}, lines: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader exercises every refill path.
			for _, src := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				workers := 1
				if _, ok := src.(*strings.Reader); ok {
					workers = 3 // parallel decoding must give the same answers
				}
				r, err := NewReader[rec](src, WithName("f.jsonl"), WithDecodeWorkers(workers))
				if err != nil {
					t.Fatal(err)
				}
				got, errs := readAll(t, r)
				r.Close()
				if len(got) != len(tt.want) {
					t.Fatalf("got %v, want %v (errs %v)", got, tt.want, errs)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
				if len(errs) != len(tt.lines) {
					t.Fatalf("errors %v, want on lines %v", errs, tt.lines)
				}
				for i, err := range errs {
					var pe *ParseError
					if !errors.As(err, &pe) || pe.Line != tt.lines[i] || pe.File != "f.jsonl" {
						t.Errorf("error %d = %#v, want ParseError on line %d", i, err, tt.lines[i])
					}
					if i < len(tt.errs) && err.Error() != tt.errs[i] {
						t.Errorf("error %d = %q, want %q", i, err, tt.errs[i])
					}
				}
			}
		})
	}
}

func TestReaderLongLine(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 100) + `"}`
	in := `{"a":"1"}` + "\n" + long + "\n" + `{"a":"2"}` + "\n" + long + "\r\n" + long
	for _, chunked := range []bool{false, true} {
		var src io.Reader = strings.NewReader(in)
		if chunked {
			src = iotest.HalfReader(src)
		}
		r, err := NewReader[rec](src, WithName("big.jsonl"), WithMaxLineSize(64))
		if err != nil {
			t.Fatal(err)
		}
		got, errs := readAll(t, r)
		if len(got) != 2 || got[0].A != "1" || got[1].A != "2" {
			t.Fatalf("got %+v", got)
		}
		if len(errs) != 3 {
			t.Fatalf("errs = %v, want 3", errs)
		}
		for i, line := range []int{2, 4, 5} {
			var pe *ParseError
			if !errors.As(errs[i], &pe) || pe.Line != line || !errors.Is(errs[i], ErrLineTooLong) {
				t.Errorf("err %d = %v, want line %d too long", i, errs[i], line)
			}
		}
		if want := "big.jsonl:2: line too long: over 64 bytes"; errs[0].Error() != want {
			t.Errorf("error text %q, want %q", errs[0], want)
		}
	}
}

func TestReaderExactLimit(t *testing.T) {
	line := `{"a":"` + strings.Repeat("x", 58) + `"}` // 66 bytes
	r, _ := NewReader[rec](strings.NewReader(line+"\r\n"+line), WithMaxLineSize(len(line)))
	got, errs := readAll(t, r)
	if len(got) != 2 || len(errs) != 0 {
		t.Fatalf("got %d records, errs %v; want 2, none", len(got), errs)
	}
}

func TestReaderStrict(t *testing.T) {
	in := `{"a":"x","extra":1}` + "\n"
	r, _ := NewReader[rec](strings.NewReader(in), WithName("t.jsonl"))
	if _, errs := readAll(t, r); len(errs) != 0 {
		t.Fatalf("lenient: %v", errs)
	}
	r, _ = NewReader[rec](strings.NewReader(in), WithName("t.jsonl"), WithStrict())
	_, errs := readAll(t, r)
	if len(errs) != 1 || !errors.Is(errs[0], ErrUnknownField) {
		t.Fatalf("strict: %v", errs)
	}
	if want := `t.jsonl:1: field "extra": unknown field`; errs[0].Error() != want {
		t.Errorf("got %q, want %q", errs[0], want)
	}
}

func TestReaderNestedFieldPath(t *testing.T) {
	in := `{"task_id":"t","tokens":{"prompt":"many"}}`
	r, _ := NewReader[Trajectory](strings.NewReader(in), WithName("traj.jsonl"))
	_, err := r.Next()
	if want := `traj.jsonl:1: field "tokens.prompt": want integer, got string`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestReaderReadErrorIsFinal(t *testing.T) {
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader("{}\n{}"), iotest.ErrReader(boom))
	r, _ := NewReader[rec](src)
	got, errs := readAll(t, r)
	if len(got) != 1 || len(errs) != 1 || !errors.Is(errs[0], boom) {
		t.Fatalf("got %v errs %v", got, errs)
	}
	var pe *ParseError
	if errors.As(errs[0], &pe) {
		t.Fatalf("read error reported as ParseError: %v", errs[0])
	}
}

func TestReaderOptionsValidated(t *testing.T) {
	if _, err := NewReader[rec](strings.NewReader(""), WithMaxLineSize(0)); err == nil {
		t.Fatal("WithMaxLineSize(0): no error")
	}
}

func TestParseErrorText(t *testing.T) {
	tests := []struct {
		err  ParseError
		want string
	}{
		{ParseError{File: "p.jsonl", Line: 1042, Field: "answer", Err: &TypeError{Want: "string", Got: "object"}},
			`p.jsonl:1042: field "answer": want string, got object`},
		{ParseError{File: "p.jsonl", Line: 3, Err: ErrNoRecords}, `p.jsonl:3: no records`},
		{ParseError{Line: 7, Field: "q", Err: ErrMissingField}, `line 7: field "q": missing or empty`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestReaderParallelOrderAndErrors(t *testing.T) {
	var b strings.Builder
	const n = 5000
	for i := range n {
		switch {
		case i%997 == 0:
			b.WriteString("{bad\n")
		case i%1201 == 0:
			b.WriteString(`{"a":"` + strings.Repeat("x", 300) + `"}` + "\n")
		default:
			b.WriteString(`{"a":"x","n":` + strconv.Itoa(i) + "}\n")
		}
		if i%100 == 0 {
			b.WriteString("\n")
		}
	}
	seq, _ := NewReader[rec](strings.NewReader(b.String()), WithMaxLineSize(200))
	par, _ := NewReader[rec](iotest.HalfReader(strings.NewReader(b.String())), WithMaxLineSize(200), WithDecodeWorkers(4))
	defer par.Close()
	for {
		v1, err1 := seq.Next()
		v2, err2 := par.Next()
		if v1 != v2 || fmt.Sprint(err1) != fmt.Sprint(err2) || seq.Line() != par.Line() {
			t.Fatalf("sequential %+v, %v at %d; parallel %+v, %v at %d", v1, err1, seq.Line(), v2, err2, par.Line())
		}
		if err1 == io.EOF {
			break
		}
	}
}

func TestReaderParallelCloseEarly(t *testing.T) {
	var b strings.Builder
	for range 10000 {
		b.WriteString(`{"a":"x"}` + "\n")
	}
	r, _ := NewReader[rec](strings.NewReader(b.String()), WithDecodeWorkers(2))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil { // must return: goroutines stopped
		t.Fatal(err)
	}
}

func TestReaderParallelReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader("{}\n{}\n"), iotest.ErrReader(boom))
	r, _ := NewReader[rec](src, WithDecodeWorkers(2))
	got, errs := readAll(t, r)
	if len(got) != 2 || len(errs) != 1 || !errors.Is(errs[0], boom) {
		t.Fatalf("got %v errs %v", got, errs)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("after read error: %v", err)
	}
}
