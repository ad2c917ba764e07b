package engine

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// fastDecode decodes a streamed chunk of the shape vLLM, SGLang and others
// send for every token, without reflection and with one allocation (the
// text). It reports false for anything outside that shape (nested values in
// unknown keys, usage objects, error events, escapes in keys, keys that
// encoding/json would match case-insensitively…), and the caller falls back
// to encoding/json, so the result is always what json.Unmarshal gives.
// FuzzFastDecode holds it to that.
//
// Why: encoding/json costs several allocations and microseconds per event,
// which dominated the per-token overhead budget (bench_test.go).
func fastDecode(b []byte, w *wireChunk) bool {
	d := fastDec{b: b}
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return d.end()
	}
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		switch string(key) {
		case "choices":
			if !d.choices(w) {
				return false
			}
		case "usage":
			if !d.null() {
				return false // a usage object: rare, leave it to encoding/json
			}
			w.Usage = nil
		default:
			if foldsToKnown(key, topKeys) || !d.skipScalar() {
				return false
			}
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}') && d.end()
	}
}

var (
	topKeys    = []string{"choices", "usage", "error", "message"}
	choiceKeys = []string{"index", "text", "finish_reason", "stop_reason", "matched_stop"}
)

// foldsToKnown reports whether key matches one of known the way
// encoding/json matches field names (case-insensitively); such a key, exact
// or not, needs the real decoder.
func foldsToKnown(key []byte, known []string) bool {
	for _, k := range known {
		if len(k) == len(key) && bytes.EqualFold([]byte(k), key) {
			return true
		}
	}
	return false
}

// hasLit reports whether b starts with lit, without converting b.
func hasLit(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

type fastDec struct {
	b []byte
	i int
}

func (d *fastDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDec) consume(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *fastDec) end() bool {
	d.ws()
	return d.i == len(d.b)
}

func (d *fastDec) null() bool {
	d.ws()
	if hasLit(d.b[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// key reads `"name":` for an ASCII name without escapes; it aliases b.
func (d *fastDec) key() ([]byte, bool) {
	raw, ok := d.str()
	if !ok || !d.consume(':') {
		return nil, false
	}
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			return nil, false // escapes, or Unicode case folding (K, ſ) encoding/json applies
		}
	}
	return raw, true
}

// str reads a string token and returns its raw contents (escapes intact).
// Control characters make it fail, as JSON forbids them.
func (d *fastDec) str() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c == '\\':
			d.i += 2
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

// text decodes a string value; escapes and invalid UTF-8 go through
// encoding/json for its exact rules.
func (d *fastDec) text() (string, bool) {
	d.ws()
	from := d.i
	raw, ok := d.str()
	if !ok {
		return "", false
	}
	escaped, ascii := false, true
	for _, c := range raw {
		escaped = escaped || c == '\\'
		ascii = ascii && c < utf8.RuneSelf
	}
	if escaped || !ascii && !utf8.Valid(raw) {
		var s string
		if json.Unmarshal(d.b[from:d.i], &s) != nil {
			return "", false
		}
		return s, true
	}
	return string(raw), true
}

// skipScalar skips a string, number, true, false or null.
func (d *fastDec) skipScalar() bool {
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		raw, ok := d.str()
		return ok && validEscapes(raw)
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	for _, lit := range [...]string{"null", "true", "false"} {
		if hasLit(d.b[d.i:], lit) {
			d.i += len(lit)
			return true
		}
	}
	return false
}

// validEscapes checks a raw string's escapes as JSON defines them.
func validEscapes(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) {
			return false
		}
		switch raw[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+5 >= len(raw) {
				return false
			}
			for _, h := range raw[i+2 : i+6] {
				if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
					return false
				}
			}
			i += 5
		default:
			return false
		}
	}
	return true
}

// number skips a JSON number per its grammar.
func (d *fastDec) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	d.i = i
	return true
}

// small reads a non-negative integer of at most 9 digits (a choice index).
func (d *fastDec) small() (int, bool) {
	d.ws()
	n, start := 0, d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' && d.i-start < 10 {
		n = n*10 + int(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 9 || digits > 1 && d.b[start] == '0' {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	return n, true
}

func (d *fastDec) choices(w *wireChunk) bool {
	if d.null() {
		w.Choices = nil
		return true
	}
	if !d.consume('[') {
		return false
	}
	w.Choices = w.Choices[:0]
	if d.consume(']') {
		return true
	}
	for {
		w.Choices = append(w.Choices, wireChoice{})
		if !d.choice(&w.Choices[len(w.Choices)-1]) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume(']')
	}
}

func (d *fastDec) choice(c *wireChoice) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		switch string(key) {
		case "index":
			if c.Index, ok = d.small(); !ok {
				return false
			}
		case "text":
			if d.null() {
				break
			}
			if c.Text, ok = d.text(); !ok {
				return false
			}
		case "finish_reason":
			if d.null() {
				break
			}
			if c.FinishReason, ok = d.text(); !ok {
				return false
			}
		case "stop_reason":
			if !d.null() {
				return false // a stop string or token id: once per stream
			}
			c.StopReason = nil
		case "matched_stop": // SGLang's name for it
			if !d.null() {
				return false
			}
			c.MatchedStop = nil
		default:
			if foldsToKnown(key, choiceKeys) || !d.skipScalar() {
				return false
			}
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}
