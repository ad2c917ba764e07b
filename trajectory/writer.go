package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends records to a JSONL file, one whole line per record. Each
// record is marshalled into a buffer and written, line end included, with a
// single write(2) on a file opened O_APPEND, so concurrent appenders never
// interleave inside a line and readers never see half a record from a writer
// that is still running. A crash can still tear the last line (power loss,
// SIGKILL mid-write of a large line): OpenWriter cuts such a tail off before
// appending.
//
// A Writer is safe for concurrent use by multiple goroutines. Records are
// durable only after Sync or Close returns.
type Writer struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	buf      bytes.Buffer
	enc      *json.Encoder
	maxLine  int
	repaired int64
	closed   bool
}

// WriterOption tunes a Writer.
type WriterOption func(*Writer) error

// WithWriterMaxLineSize makes Append refuse records whose line would be
// longer than n bytes (DefaultMaxLineSize by default), so that a Writer never
// writes a line that a default Reader rejects.
func WithWriterMaxLineSize(n int) WriterOption {
	return func(w *Writer) error {
		if n <= 0 {
			return fmt.Errorf("max line size %d: must be positive", n)
		}
		w.maxLine = n
		return nil
	}
}

// FileMode is the mode OpenWriter creates files with: trajectories hold
// prompts and model output, which the owner's group may read and nobody
// else.
const FileMode = 0o640

// OpenWriter opens (creating if needed, mode FileMode) the JSONL file at path for
// appending. If the file's last line has no '\n' — a write torn by a crash —
// it is cut back to the last '\n' and the cut is synced before OpenWriter
// returns, so the file holds only whole lines. Repaired says how many bytes
// went.
//
// Only one Writer (in any process) may repair a file at a time; hintfleet
// gives each output file a single owner (the leading coordinator).
func OpenWriter(path string, opts ...WriterOption) (*Writer, error) {
	w := &Writer{path: path, maxLine: DefaultMaxLineSize}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, fmt.Errorf("open writer %s: %w", path, err)
		}
	}
	n, err := repairTail(path)
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.repaired = n
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.f = f
	w.enc = json.NewEncoder(&w.buf)
	w.enc.SetEscapeHTML(false)
	return w, nil
}

// repairTail truncates path back to just after its last '\n' and syncs,
// returning how many bytes were cut. A missing file is fine (0, nil).
func repairTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("repair %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("repair %s: %w", path, err)
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	keep, err := endOfLastLine(f, size)
	if err != nil {
		return 0, fmt.Errorf("repair %s: %w", path, err)
	}
	if keep == size {
		return 0, nil
	}
	if err := f.Truncate(keep); err != nil {
		return 0, fmt.Errorf("repair %s: truncate torn line: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("repair %s: sync: %w", path, err)
	}
	return size - keep, nil
}

// endOfLastLine scans f backwards from size for the last '\n' and returns
// the offset just past it (0 when there is none).
func endOfLastLine(f io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read tail: %w", err)
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Path is the file the Writer appends to.
func (w *Writer) Path() string { return w.path }

// Repaired is the number of bytes of a torn last line that OpenWriter cut.
func (w *Writer) Repaired() int64 { return w.repaired }

// Append marshals v as one JSON line and appends it with one write. A value
// that does not marshal, or whose line is over the limit, writes nothing.
func (w *Writer) Append(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.buf.Reset()
	if err := w.enc.Encode(v); err != nil { // Encode adds the '\n'
		return fmt.Errorf("append to %s: encode: %w", w.path, err)
	}
	return w.writeLocked(w.buf.Bytes())
}

// AppendRaw appends one line that is already JSON. line must not contain
// '\n'; the Writer adds it.
func (w *Writer) AppendRaw(line []byte) error {
	if bytes.IndexByte(line, '\n') >= 0 {
		return fmt.Errorf("append raw to %s: line holds a newline", w.path)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.buf.Reset()
	w.buf.Write(line)
	w.buf.WriteByte('\n')
	return w.writeLocked(w.buf.Bytes())
}

func (w *Writer) writeLocked(line []byte) error {
	if len(line)-1 > w.maxLine {
		return fmt.Errorf("append to %s: %w: %d bytes, limit %d", w.path, ErrLineTooLong, len(line)-1, w.maxLine)
	}
	// os.File.Write loops on short writes; with O_APPEND each write(2)
	// lands at the end, and a regular file only writes short on error.
	if _, err := w.f.Write(line); err != nil {
		return fmt.Errorf("append to %s: %w", w.path, err)
	}
	return nil
}

// Sync makes every line appended so far durable (fsync).
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

// Close syncs and closes the file. Appends after Close return ErrClosed; a
// second Close returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	serr := w.f.Sync()
	cerr := w.f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}
