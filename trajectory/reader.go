package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"reflect"
)

// DefaultMaxLineSize is the longest line a Reader accepts unless told
// otherwise: large enough for a 32k-token trajectory with its steps several
// times over, small enough that one corrupt file cannot exhaust memory.
const DefaultMaxLineSize = 16 << 20

// readChunk is how much a Reader asks its source for at a time. Large reads
// keep the syscall count low on multi-gigabyte trajectory files.
const readChunk = 1 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReaderOption tunes a Reader. Options are checked by NewReader and
// OpenReader; a bad one is an error, not a silent default.
type ReaderOption func(*readerConfig) error

type readerConfig struct {
	name    string
	strict  bool
	maxLine int
	workers int
}

// WithName sets the file name that ParseErrors carry. OpenReader sets it to
// the path; set it when reading from a pipe or network stream.
func WithName(name string) ReaderOption {
	return func(c *readerConfig) error { c.name = name; return nil }
}

// WithStrict makes decoding reject fields that the record type does not
// have. Use it for inputs hintfleet writes itself (trajectories, configs),
// where an unknown field means a typo or a version skew, not extra data.
func WithStrict() ReaderOption {
	return func(c *readerConfig) error { c.strict = true; return nil }
}

// WithDecodeWorkers decodes lines on n goroutines while one more splits
// them, keeping records in file order. JSON decoding is CPU-bound and the
// rest of reading is cheap, so a multi-gigabyte trajectory file reads about
// n times faster. A Reader with workers must be closed (Close) unless it
// has been read to the end or to a read error; n <= 1 decodes on the
// caller's goroutine.
func WithDecodeWorkers(n int) ReaderOption {
	return func(c *readerConfig) error {
		if n < 0 {
			return fmt.Errorf("decode workers %d: must not be negative", n)
		}
		c.workers = n
		return nil
	}
}

// WithMaxLineSize sets the longest line accepted, in bytes without the line
// end. The reader's memory is bounded by about this much.
func WithMaxLineSize(n int) ReaderOption {
	return func(c *readerConfig) error {
		if n <= 0 {
			return fmt.Errorf("max line size %d: must be positive", n)
		}
		c.maxLine = n
		return nil
	}
}

// Reader streams records of type T from JSONL input, one JSON value per
// line. It holds at most one line (plus a read-ahead chunk) in memory, so a
// file of any length is read in constant memory. It accepts a UTF-8 BOM at
// the start, CRLF line ends and blank lines (skipped).
//
// Bad lines come back as *ParseError and do not stop the reader: the next
// call reads the next line, so a caller decides whether one bad line ends
// the read. Errors of the underlying reader are returned as they are
// (wrapped) and are final.
//
// A Reader is not safe for concurrent use.
type Reader[T any] struct {
	src    io.Reader
	closer io.Closer
	cfg    readerConfig

	buf        []byte
	r, w       int // unread data is buf[r:w]
	line       int // number of the last line returned or failed
	eof        bool
	err        error // sticky read error
	discarding bool  // inside a line longer than cfg.maxLine
	nullable   bool  // T accepts a JSON null line
	cur        int   // line of the record Next last returned or failed

	par *pipeline[T] // set when decoding in parallel (WithDecodeWorkers)
}

// NewReader returns a Reader of T over src. It does not close src.
func NewReader[T any](src io.Reader, opts ...ReaderOption) (*Reader[T], error) {
	cfg := readerConfig{maxLine: DefaultMaxLineSize}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("new jsonl reader: %w", err)
		}
	}
	var zero T
	k := reflect.TypeOf(&zero).Elem().Kind()
	return &Reader[T]{
		src:      src,
		cfg:      cfg,
		buf:      make([]byte, min(readChunk, cfg.maxLine+2)),
		nullable: k == reflect.Pointer || k == reflect.Interface,
	}, nil
}

// OpenReader opens the file at path for reading with a Reader of T whose
// errors name path. Close the Reader to close the file.
func OpenReader[T any](path string, opts ...ReaderOption) (*Reader[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open jsonl: %w", err)
	}
	r, err := NewReader[T](f, append([]ReaderOption{WithName(path)}, opts...)...)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close stops the decode workers, if any, and closes the file of a Reader
// made by OpenReader. It does not close the source of one made by NewReader.
func (r *Reader[T]) Close() error {
	if r.par != nil {
		r.par.stop()
	}
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	if err := c.Close(); err != nil {
		return fmt.Errorf("close %s: %w", r.cfg.name, err)
	}
	return nil
}

// Name is the file name the Reader's errors carry.
func (r *Reader[T]) Name() string { return r.cfg.name }

// Line is the number of the line last returned (or found bad), 1-based.
func (r *Reader[T]) Line() int { return r.cur }

// Next decodes the next non-blank line. It returns io.EOF (unwrapped) at the
// end of input, a *ParseError for a bad line (call Next again to go on), or
// a read error, after which the Reader is done.
func (r *Reader[T]) Next() (T, error) {
	if r.cfg.workers > 1 {
		return r.nextParallel()
	}
	var v T
	line, err := r.NextLine()
	r.cur = r.line
	if err != nil {
		return v, err
	}
	if err := r.decodeAt(r.line, line, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// All iterates over the records left in the input. A *ParseError is yielded
// with a zero record and iteration goes on; a read error is yielded last.
// Break out of the loop to stop at the first error.
func (r *Reader[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(v, err) {
				return
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				return
			}
		}
	}
}

// NextLine returns the next non-blank line without its line end (and
// without a leading BOM on line 1), for callers that decode lines
// themselves. The slice is valid until the next call. Errors are as for Next.
// It must not be mixed with Next on a Reader with decode workers.
func (r *Reader[T]) NextLine() ([]byte, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if r.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > r.cfg.maxLine {
			return nil, r.tooLong()
		}
		if isBlank(line) {
			continue
		}
		return line, nil
	}
}

func (r *Reader[T]) tooLong() error {
	return &ParseError{File: r.cfg.name, Line: r.line,
		Err: fmt.Errorf("%w: over %d bytes", ErrLineTooLong, r.cfg.maxLine)}
}

// readLine returns the next raw line, blank or not. It splits on '\n' with
// bytes.IndexByte over a buffer it refills in large chunks; a line is copied
// at most once (when the unread tail moves to the front of the buffer).
func (r *Reader[T]) readLine() ([]byte, error) {
	scanned := 0 // bytes at buf[r.r:] known to hold no '\n'
	for {
		if i := bytes.IndexByte(r.buf[r.r+scanned:r.w], '\n'); i >= 0 {
			end := r.r + scanned + i
			line := r.buf[r.r:end]
			r.r = end + 1
			r.line++
			if r.discarding {
				r.discarding = false
				return nil, r.tooLong()
			}
			return line, nil
		}
		scanned = r.w - r.r
		if r.discarding || scanned > r.cfg.maxLine+1 {
			// Too long whatever follows: drop what we hold and skip
			// to the next '\n' so that the reader can go on.
			r.discarding = true
			r.r, r.w, scanned = 0, 0, 0
		}
		if r.eof {
			if r.discarding {
				r.discarding = false
				r.line++
				return nil, r.tooLong()
			}
			if r.r < r.w {
				line := r.buf[r.r:r.w]
				r.r = r.w
				r.line++
				return line, nil
			}
			return nil, io.EOF
		}
		if r.err != nil {
			return nil, r.err
		}
		if r.r > 0 {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		if r.w == len(r.buf) {
			nb := make([]byte, min(2*len(r.buf), r.cfg.maxLine+2))
			copy(nb, r.buf[:r.w])
			r.buf = nb
		}
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		switch {
		case err == io.EOF:
			r.eof = true
		case err != nil:
			r.err = fmt.Errorf("read %s: %w", r.displayName(), err)
		}
	}
}

func (r *Reader[T]) displayName() string {
	if r.cfg.name == "" {
		return "jsonl input"
	}
	return r.cfg.name
}

// Decode decodes one line into v as Next does, honouring WithStrict, and
// reports a fault as a *ParseError at the current line.
func (r *Reader[T]) Decode(line []byte, v *T) error {
	return r.decodeAt(r.cur, line, v)
}

// decodeAt decodes line, numbered n, into v. It reads only r.cfg and
// r.nullable, so decode workers may call it concurrently.
func (r *Reader[T]) decodeAt(n int, line []byte, v *T) error {
	if !r.nullable && bytes.Equal(bytes.TrimSpace(line), []byte("null")) {
		return r.parseErr(n, "", &TypeError{Want: "object", Got: "null"})
	}
	err := decodeJSON(line, v, r.cfg.strict)
	if err == nil {
		return nil
	}
	field, _, what := DescribeJSONError(err)
	return r.parseErr(n, field, what)
}

func (r *Reader[T]) parseErr(n int, field string, err error) *ParseError {
	return &ParseError{File: r.cfg.name, Line: n, Field: field, Err: err}
}

func decodeJSON(line []byte, v any, strict bool) error {
	if !strict {
		return json.Unmarshal(line, v)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if rest := line[dec.InputOffset():]; !isBlank(rest) {
		return errors.New("invalid JSON: data after the value")
	}
	return nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
