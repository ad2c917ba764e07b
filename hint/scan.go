package hint

import (
	"bytes"
	"strings"
)

// This file is the incremental detector for triggers, markers and code
// fences. It scans the assistant text once, left to right, and keeps only a
// resume position and the open fence: a candidate that needs bytes not yet
// received (a trigger word split across chunks, a fence line without its
// newline) makes the scanner stop and re-examine that candidate when more text
// arrives. Pending candidates are bounded (a trigger word, a marker, or
// maxFenceLine bytes), so each byte is examined O(1) times.

// maxFenceLine bounds how long a line may be and still be taken for a fence
// line while its newline has not arrived; longer lines are text. It bounds the
// rescan work for a long line that starts with backticks.
const maxFenceLine = 128

// endKind says whether more text may follow in the current stream.
type endKind uint8

const (
	endMore  endKind = iota // more chunks may come
	endOther                // the stream ended (length, stop string, error)
	endEOS                  // the model ended on its own: the end is also a line end
)

type evKind uint8

const (
	evNone    evKind = iota
	evTrigger        // a trigger word at a sentence start, outside fences
	evMarker         // a marker (end of thinking, "```output") anywhere
	evFence          // a fence closed
)

// fence is an open (or just closed) code block. Offsets are into the text.
type fence struct {
	open  bool
	start int    // first byte of the opening line
	body  int    // first byte after the opening line's newline
	ticks int    // length of the opening backtick run
	lang  string // first word of the info string, lowercased
	close int    // first byte of the closing line (on evFence)
	end   int    // just after the closing backtick run (on evFence)
}

type event struct {
	kind  evKind
	pos   int    // trigger or marker: first byte; fence: f.end
	word  string // the trigger or marker
	fence fence
}

// byte classes for the scan table.
const (
	cNewline = 1 << iota
	cPunct
	cMarker
)

// scanner finds events in text that grows at the end. It is not safe for
// concurrent use.
type scanner struct {
	triggers  []string
	markers   []string
	tab       [256]uint8
	trigFirst [256]bool
	// pos is the next byte to examine; -1 stands for the virtual newline
	// before the text, which makes offset 0 a line and sentence start.
	pos int
	// gen is where generated text starts: events before it are not
	// reported (inserted hints, and text already resolved).
	gen int
	f   fence
}

func newScanner(triggers, markers []string) *scanner {
	s := &scanner{triggers: triggers, markers: markers, pos: -1}
	s.tab['\n'] |= cNewline
	for _, b := range []byte(".?!") {
		s.tab[b] |= cPunct
	}
	for _, m := range markers {
		if m != "" {
			s.tab[m[0]] |= cMarker
		}
	}
	for _, t := range triggers {
		if t != "" {
			s.trigFirst[t[0]] = true
		}
	}
	return s
}

// inserted tells the scanner that text up to n was written by hintfleet, not
// the model: it is scanned for fence state but yields no events.
func (s *scanner) inserted(n int) { s.gen = n }

// cut rewinds the scanner after the text was truncated to n. The byte before
// n is examined again so that n is recognised as a line or sentence start.
func (s *scanner) cut(n int) {
	s.pos = n - 1
}

// reset restarts scanning at n with no fence open; used after appending an
// output block, whose content must not change the fence state.
func (s *scanner) reset(n int) {
	s.f = fence{}
	s.gen = n
	s.pos = n - 1
}

// skipQuiet is next's fast path for the common chunk: when nothing is
// pending (the scan had reached from, the chunk's start) and buf[from:]
// holds no byte the scanner acts on (newline, sentence punctuation, a
// marker's first byte), there can be no event in it and the scan moves past
// it. It reports whether it did; otherwise call next.
func (s *scanner) skipQuiet(buf []byte, from int) bool {
	if s.pos != from {
		return false
	}
	for _, c := range buf[from:] {
		if s.tab[c] != 0 {
			return false
		}
	}
	s.pos = len(buf)
	return true
}

// next returns the next event in buf at or after the resume position, or an
// event of kind evNone when the text so far holds none (or ends in a
// candidate that needs more text, unless end says no more will come). After
// an event the scanner resumes just past it; the caller may cut the text
// instead, then it calls cut.
func (s *scanner) next(buf []byte, end endKind) event {
	n := len(buf)
	i := s.pos
	if i < 0 {
		ev, nx, pend := s.lineStart(buf, 0, end)
		if pend {
			return event{}
		}
		i = nx
		s.pos = i
		if ev.kind != evNone {
			return ev
		}
	}
	for i < n {
		c := s.tab[buf[i]]
		if c == 0 {
			i++
			continue
		}
		if c&cMarker != 0 && i >= s.gen {
			word, pend := s.marker(buf, i, end)
			if pend {
				s.pos = i
				return event{}
			}
			if word != "" {
				s.pos = i + 1
				return event{kind: evMarker, pos: i, word: word}
			}
		}
		switch {
		case c&cNewline != 0:
			ev, nx, pend := s.lineStart(buf, i+1, end)
			if pend {
				s.pos = i
				return event{}
			}
			if ev.kind != evNone {
				s.pos = nx
				return ev
			}
			if nx > i {
				i = nx
				continue
			}
		case c&cPunct != 0 && !s.f.open:
			if i+1 >= n {
				if end == endMore {
					s.pos = i
					return event{}
				}
				break
			}
			if buf[i+1] == ' ' {
				word, pend := s.trigger(buf, i+2, end)
				if pend {
					s.pos = i
					return event{}
				}
				if word != "" {
					s.pos = i + 2 + len(word)
					return event{kind: evTrigger, pos: i + 2, word: word}
				}
			}
		}
		i++
	}
	s.pos = n
	return event{}
}

// marker reports the marker starting at i, or pend when buf ends in a proper
// prefix of one and more text may come.
func (s *scanner) marker(buf []byte, i int, end endKind) (word string, pend bool) {
	rest := buf[i:]
	for _, m := range s.markers {
		if len(rest) >= len(m) {
			if string(rest[:len(m)]) == m {
				return m, false
			}
		} else if end == endMore && strings.HasPrefix(m, string(rest)) {
			pend = true
		}
	}
	return "", pend
}

// trigger reports the trigger word at sentence start p (outside fences, in
// generated text): the word followed by "," or " ".
func (s *scanner) trigger(buf []byte, p int, end endKind) (word string, pend bool) {
	if s.f.open || p < s.gen {
		return "", false
	}
	n := len(buf)
	if p >= n {
		return "", end == endMore
	}
	if !s.trigFirst[buf[p]] {
		return "", false
	}
	rest := buf[p:]
	for _, t := range s.triggers {
		if len(rest) > len(t) {
			if string(rest[:len(t)]) == t && (rest[len(t)] == ',' || rest[len(t)] == ' ') {
				return t, false
			}
		} else if end == endMore && strings.HasPrefix(t, string(rest)) {
			pend = true
		}
	}
	return "", pend
}

// lineStart examines the line starting at p: a fence line changes the fence
// state (and a closing one is an event); another line may start with a
// trigger. nx is where the main loop continues (the fence line's newline, or
// p-1 meaning "carry on at the next byte").
func (s *scanner) lineStart(buf []byte, p int, end endKind) (ev event, nx int, pend bool) {
	n := len(buf)
	nx = p - 1
	if nx < 0 {
		nx = 0
	}
	j := p
	for j < n && (buf[j] == ' ' || buf[j] == '\t') {
		j++
	}
	if j == n {
		return event{}, nx, end == endMore && j-p < maxFenceLine
	}
	if buf[j] != '`' {
		if j > p {
			return event{}, nx, false
		}
		word, pend := s.trigger(buf, p, end)
		if word != "" {
			return event{kind: evTrigger, pos: p, word: word}, p + len(word), false
		}
		return event{}, nx, pend
	}
	k := j
	for k < n && buf[k] == '`' {
		k++
	}
	ticks := k - j
	if k == n && end == endMore && k-p < maxFenceLine {
		return event{}, nx, true
	}
	if ticks < 3 {
		return event{}, nx, false
	}
	// The rest of the line: up to its newline, or the end of the text.
	eol := -1
	limit := min(n, p+maxFenceLine+1)
	if k < limit {
		if e := bytes.IndexByte(buf[k:limit], '\n'); e >= 0 {
			eol = k + e
		}
	}
	info := buf[k:]
	if eol >= 0 {
		info = buf[k:eol]
	} else if limit < n {
		return event{}, nx, false // too long for a fence line
	}
	if s.f.open {
		if ticks < s.f.ticks || len(bytes.Trim(info, " \t")) != 0 {
			return event{}, nx, false
		}
	} else if bytes.IndexByte(info, '`') >= 0 {
		return event{}, nx, false
	}
	// A marker inside a fence line wins: the engine would stop there too.
	for m := p; m < k+len(info); m++ {
		if s.tab[buf[m]]&cMarker != 0 && m >= s.gen {
			if word, pend := s.marker(buf, m, end); pend {
				return event{}, nx, true
			} else if word != "" {
				return event{kind: evMarker, pos: m, word: word}, m + 1, false
			}
		}
	}
	if eol < 0 && end == endMore {
		return event{}, nx, true
	}
	if s.f.open {
		if eol < 0 && end != endEOS {
			return event{}, nx, false
		}
		f := s.f
		f.open, f.close, f.end = false, p, k
		s.f = fence{}
		e := eol
		if e < 0 {
			e = n
		}
		if e <= s.gen {
			return event{}, e, false // closed inside inserted text
		}
		return event{kind: evFence, pos: k, fence: f}, e, false
	}
	if eol < 0 {
		return event{}, nx, false // an opening line needs its newline
	}
	lang := string(bytes.ToLower(firstWord(info)))
	s.f = fence{open: true, start: p, body: eol + 1, ticks: ticks, lang: lang}
	return event{}, eol, false
}

func firstWord(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t")
	if i := bytes.IndexAny(b, " \t{"); i >= 0 {
		b = b[:i]
	}
	return b
}
