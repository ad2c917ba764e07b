package engine

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllEvents drains p, copying each event since its slice is only valid
// until the next call.
func readAllEvents(p *sseReader) ([]string, error) {
	var out []string
	for {
		ev, err := p.next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, string(ev))
	}
}

// refEvents is a deliberately naive event-stream parser over the whole input,
// the oracle for the fuzz test.
func refEvents(in string) []string {
	in = strings.ReplaceAll(in, "\r\n", "\n")
	in = strings.ReplaceAll(in, "\r", "\n")
	lines := strings.Split(in, "\n")
	var out, data []string
	for _, l := range lines {
		if l == "" {
			if len(data) > 0 {
				out = append(out, strings.Join(data, "\n"))
				data = nil
			}
			continue
		}
		if l[0] == ':' {
			continue
		}
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		if name == "data" {
			data = append(data, value)
		}
	}
	if len(data) > 0 {
		out = append(out, strings.Join(data, "\n"))
	}
	return out
}

// chunkReader returns its input in pieces of the given sizes, cycling.
type chunkReader struct {
	b     []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := r.sizes[r.i%len(r.sizes)]
	r.i++
	n = max(1, min(n, len(p), len(r.b)))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lf", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"cr", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"mixed ends", "data: a\r\n\ndata: b\r\r\n", []string{"a", "b"}},
		{"no space", "data:a\n\ndata:  b\n\n", []string{"a", " b"}},
		{"multi-line data", "data: a\ndata: b\ndata:\n\n", []string{"a\nb\n"}},
		{"comments and fields", ": keep-alive\nevent: completion\nid: 7\nretry: 10\ndata: x\n\n", []string{"x"}},
		{"no data no event", "event: ping\n\n: c\n\n", nil},
		{"field without colon", "data\n\n", []string{""}},
		{"done", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`{"a":1}`, "[DONE]"}},
		{"final without blank line", "data: a\n\ndata: [DONE]\n", []string{"a", "[DONE]"}},
		{"final without newline", "data: a\n\ndata: [DONE]", []string{"a", "[DONE]"}},
		{"final cr at eof", "data: a\r", []string{"a"}},
		{"utf8", "data: héllo 世界 🙂\n\n", []string{"héllo 世界 🙂"}},
		{"leading blank lines", "\n\n\r\ndata: a\n\n", []string{"a"}},
		{"empty", "", nil},
		{"unknown field named like data", "datum: x\ndata : y\n\n", nil},
	}
	readers := []struct {
		name string
		wrap func(string) io.Reader
	}{
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
		{"byte by byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"odd chunks", func(s string) io.Reader { return &chunkReader{b: []byte(s), sizes: []int{3, 1, 7, 2}} }},
		{"data with eof", func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := readAllEvents(newSSEReader(rd.wrap(tt.in)))
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("events of %q:\n got %q\nwant %q", tt.in, got, tt.want)
				}
			})
		}
	}
}

func TestSSEReaderUnterminated(t *testing.T) {
	p := newSSEReader(strings.NewReader("data: a\n\ndata: b"))
	if _, err := p.next(); err != nil || p.Unterminated() {
		t.Fatalf("first event: err %v, unterminated %v; want nil, false", err, p.Unterminated())
	}
	if _, err := p.next(); err != nil || !p.Unterminated() {
		t.Fatalf("last event: err %v, unterminated %v; want nil, true", err, p.Unterminated())
	}
}

func TestSSEReaderError(t *testing.T) {
	boom := errors.New("boom")
	// The complete event is delivered; the half event before the error is not.
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := readAllEvents(newSSEReader(r))
	if !errors.Is(err, boom) || !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %q, %v; want [a], boom", got, err)
	}
}

func TestSSEReaderTooLarge(t *testing.T) {
	big := "data: " + strings.Repeat("x", maxEventSize) + "\n\n"
	_, err := readAllEvents(newSSEReader(strings.NewReader(big)))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 1<<20)+"\n", 9) + "\n"
	_, err = readAllEvents(newSSEReader(strings.NewReader(many)))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("multi-line: err = %v, want ErrEventTooLarge", err)
	}
}

// TestSSEReaderLargeEvent checks growth past the starting buffer.
func TestSSEReaderLargeEvent(t *testing.T) {
	v := strings.Repeat("z", 3*sseBufSize+5)
	got, err := readAllEvents(newSSEReader(&chunkReader{b: []byte("data: " + v + "\r\n\r\ndata: ok\n\n"), sizes: []int{4096, 1}}))
	if err != nil || len(got) != 2 || got[0] != v || got[1] != "ok" {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
}

// FuzzSSEReader compares the parser, fed in arbitrary pieces, with the naive
// whole-input oracle.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data:a\r\rdata: b", ": c\nevent: x\ndata: y\ndata: z\n\n",
		"data: {\"choices\":[{\"text\":\"é\"}]}\n\ndata: [DONE]\n\n", "data\n\n\r", "\r\n\r\ndata: a\r",
	} {
		f.Add([]byte(s), uint8(1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, a, b uint8) {
		want := refEvents(string(in))
		got, err := readAllEvents(newSSEReader(&chunkReader{b: bytes.Clone(in), sizes: []int{int(a), int(b)}}))
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("input %q:\n got %q\nwant %q", in, got, want)
		}
	})
}
