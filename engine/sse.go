package engine

import (
	"bytes"
	"fmt"
	"io"
)

const (
	// sseBufSize is the read buffer's starting size; it holds many token
	// events, so one read usually serves several.
	sseBufSize = 32 << 10
	// maxEventSize bounds one event (and one line); larger means a broken or
	// hostile engine, not a completion chunk.
	maxEventSize = 8 << 20
)

// sseReader splits a text/event-stream into the data of its events, as the
// WHATWG event-stream rules say: lines end in CRLF, LF or CR; a blank line
// dispatches the event; "data" fields (with or without one space after the
// colon) are joined with '\n'; comments (":…") and other fields (event, id,
// retry) are ignored; an event without data is not dispatched.
//
// Unlike the browser rules, a final event with no blank line after it is
// dispatched at EOF, since some servers end the body right after their last
// "data:" line; Unterminated reports that case so the caller can tell a clean
// end from a cut.
//
// It copies nothing in the common case: a single-line event is returned as a
// slice of the read buffer. The slice is valid until the next call to next.
// Not safe for concurrent use.
type sseReader struct {
	r          io.Reader
	buf        []byte // buf[start:end] is read but unparsed
	start, end int
	err        error // sticky error from r, acted on once buf has no line

	data     []byte // the event's data when copied
	borrowed []byte // the event's only data line, still in buf
	isBorrow bool
	nData    int  // data lines in the event so far
	skipLF   bool // the last line ended in CR at the buffer's end: a following LF belongs to it

	unterminated bool
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: r, buf: make([]byte, sseBufSize)}
}

// Unterminated reports whether the last event returned ended at EOF rather
// than at a blank line.
func (p *sseReader) Unterminated() bool { return p.unterminated }

// next returns the data of the next event, or io.EOF after the last, or the
// reader's error. A final unterminated event is returned before io.EOF.
func (p *sseReader) next() ([]byte, error) {
	for {
		line, ok := p.line()
		if ok {
			if len(line) == 0 {
				if p.nData > 0 {
					return p.dispatch(false), nil
				}
				continue
			}
			if err := p.field(line); err != nil {
				return nil, err
			}
			continue
		}
		if p.err != nil {
			if p.err == io.EOF {
				if p.start < p.end {
					last := p.buf[p.start:p.end]
					p.start = p.end
					if err := p.field(last); err != nil {
						return nil, err
					}
				}
				if p.nData > 0 {
					return p.dispatch(true), nil
				}
			}
			return nil, p.err
		}
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
}

// line returns the next complete line without its terminator.
func (p *sseReader) line() ([]byte, bool) {
	if p.skipLF && p.start < p.end {
		if p.buf[p.start] == '\n' {
			p.start++
		}
		p.skipLF = false
	}
	b := p.buf[p.start:p.end]
	lf := bytes.IndexByte(b, '\n')
	seg := b
	if lf >= 0 {
		seg = b[:lf]
	}
	if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
		switch {
		case cr+1 == len(b):
			p.start += cr + 1
			p.skipLF = true
		case b[cr+1] == '\n':
			p.start += cr + 2
		default:
			p.start += cr + 1
		}
		return b[:cr], true
	}
	if lf >= 0 {
		p.start += lf + 1
		return b[:lf], true
	}
	return nil, false
}

// field processes one non-blank line.
func (p *sseReader) field(line []byte) error {
	if line[0] == ':' {
		return nil
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	if string(name) != "data" {
		return nil
	}
	switch p.nData {
	case 0:
		p.borrowed, p.isBorrow = value, true
	default:
		p.own()
		if len(p.data)+1+len(value) > maxEventSize {
			return fmt.Errorf("sse: %w (over %d bytes)", ErrEventTooLarge, maxEventSize)
		}
		p.data = append(p.data, '\n')
		p.data = append(p.data, value...)
	}
	p.nData++
	return nil
}

// own copies a borrowed data line out of buf before buf changes.
func (p *sseReader) own() {
	if p.isBorrow {
		p.data = append(p.data[:0], p.borrowed...)
		p.borrowed, p.isBorrow = nil, false
	}
}

func (p *sseReader) dispatch(unterminated bool) []byte {
	out := p.data
	if p.isBorrow {
		out = p.borrowed
	}
	p.borrowed, p.isBorrow = nil, false
	p.data = p.data[:0]
	p.nData = 0
	p.unterminated = unterminated
	return out
}

// fill reads more input, first compacting or growing buf.
func (p *sseReader) fill() error {
	p.own()
	if p.start > 0 {
		p.end = copy(p.buf, p.buf[p.start:p.end])
		p.start = 0
	}
	if p.end == len(p.buf) {
		if len(p.buf) >= maxEventSize {
			return fmt.Errorf("sse: %w (line over %d bytes)", ErrEventTooLarge, maxEventSize)
		}
		nb := make([]byte, min(2*len(p.buf), maxEventSize))
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	n, err := p.r.Read(p.buf[p.end:])
	p.end += n
	if err != nil {
		p.err = err
	}
	return nil
}
