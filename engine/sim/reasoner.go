package sim

import (
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// indexPrefix is how many leading bytes of a question index it; questions
// are found in a prompt by looking these up at every offset.
const indexPrefix = 32

// openingLen is how many bytes of one of its own segments the reasoner must
// see to recognise that it wrote the text there.
const openingLen = 24

// Sampling is what a request says about randomness.
type Sampling struct {
	Temperature float64
	Seed        *int64
}

// Reasoner writes the scripted text of the simulator. It knows the reference
// answer of every problem it was given. Its output is a pure function of the
// prompt and the sampling (except at temperature > 0 without a seed), so that
// a client that cuts a generation and resumes it by sending prompt + text so
// far gets the rest of the same text.
//
// How it reads a prompt: it finds the problem whose Question occurs last in
// the prompt; the text after it is the transcript. It walks the transcript
// segment by segment, comparing with what it would have written: text that
// matches is its own; text that does not is an insertion by the client (a
// hint, an ```output block). What it writes next depends on the last
// insertion:
//   - none: the first stretch of reasoning ("start"), ending in an answer;
//   - one whose last sentence mentions Python: a ```python block computing
//     the answer, ending at the closing fence ("code");
//   - a closed ```output block: "The code outputs X, ..." and \boxed{X}, or,
//     when the output is empty or an error, the answer it had without the
//     tool ("output");
//   - anything else: a short re-check ending in the current answer ("cont").
//
// Safe for concurrent use.
type Reasoner struct {
	cfg      ReasonerConfig
	problems []trajectory.Problem
	index    map[string][]int // question prefix -> problems
	short    []int            // questions shorter than indexPrefix
}

// NewReasoner indexes problems. Problems with an empty Question are ignored.
func NewReasoner(problems []trajectory.Problem, cfg ReasonerConfig) *Reasoner {
	r := &Reasoner{cfg: cfg, problems: problems, index: make(map[string][]int)}
	for i, p := range problems {
		switch {
		case p.Question == "":
		case len(p.Question) < indexPrefix:
			r.short = append(r.short, i)
		default:
			k := p.Question[:indexPrefix]
			r.index[k] = append(r.index[k], i)
		}
	}
	return r
}

// match returns the problem whose question occurs last in prompt (the
// longest at that place) and the end of that occurrence, or -1.
func (r *Reasoner) match(prompt string) (idx, end int) {
	idx, end = -1, -1
	bestStart, bestLen := -1, 0
	consider := func(i, at int) {
		q := r.problems[i].Question
		if at > bestStart || (at == bestStart && len(q) > bestLen) {
			idx, bestStart, bestLen, end = i, at, len(q), at+len(q)
		}
	}
	if len(r.index) > 0 {
		for at := 0; at+indexPrefix <= len(prompt); at++ {
			for _, i := range r.index[prompt[at:at+indexPrefix]] {
				if strings.HasPrefix(prompt[at:], r.problems[i].Question) {
					consider(i, at)
				}
			}
		}
	}
	for _, i := range r.short {
		if at := strings.LastIndex(prompt, r.problems[i].Question); at >= 0 {
			consider(i, at)
		}
	}
	return idx, end
}

// Continue returns the text the simulated model generates after prompt, up to
// its end of sequence.
func (r *Reasoner) Continue(prompt string, s Sampling) string {
	idx, qEnd := r.match(prompt)
	if idx < 0 {
		return r.ramble(seedFor(prompt, s))
	}
	sc := newScript(r, &r.problems[idx], seedFor(prompt[:qEnd], s), strings.Contains(prompt, "<think>"))
	return sc.continueAfter(prompt[qEnd:])
}

// seedFor derives the script's seed: from the stable part of the prompt at
// temperature 0, mixed with the request's seed when it has one, random
// otherwise.
func seedFor(stable string, s Sampling) uint64 {
	h := fnv.New64a()
	h.Write([]byte(stable))
	base := h.Sum64()
	switch {
	case s.Seed != nil:
		return base ^ (uint64(*s.Seed)*0x9e3779b97f4a7c15 + 1)
	case s.Temperature == 0:
		return base
	default:
		return rand.Uint64()
	}
}

// Segment kinds.
type segKind int

const (
	segStart segKind = iota
	segCont
	segCode
	segOutput
)

// insertion is what the reasoner makes of a text the client inserted: the
// kind of segment it writes next, the answer an output block gave (x, for
// segOutput) and the tool call a hint invites (for segCode).
type insertion struct {
	kind segKind
	x    string
	call toolCall
}

// continueAfter walks the transcript (the text after the question) and
// returns the rest of the segment it ends in.
func (sc *script) continueAfter(t string) string {
	g := sc.segment(0, insertion{kind: segStart}, false)
	pos := len(t)
	for e := 0; e < len(t); e++ {
		if opens(t[e:], g) {
			pos = e
			break
		}
	}
	k := 0
	if pos == len(t) {
		// Nothing written yet. A hint or an output block right after the
		// question is acted on as it would be later in the text.
		if ins := sc.r.classify(t); ins.kind != segCont {
			k = 1
			sc.enter(k, ins)
			g = sc.segment(k, ins, strings.Contains(t, "</think>"))
		}
	}
	for {
		m := commonPrefix(t[pos:], g)
		if pos+m == len(t) {
			return g[m:]
		}
		d := pos + m
		k++
		e, ins := sc.anchor(t, d, k)
		closed := strings.Contains(t[:e], "</think>")
		sc.enter(k, ins)
		pos = e
		g = sc.segment(k, ins, closed)
	}
}

// anchor finds where the client's insertion that starts at d ends and which
// segment the reasoner wrote (or will write) after it: the first position
// whose text opens like the segment that the insertion before it calls for.
// With none, the insertion runs to the end of the transcript.
func (sc *script) anchor(t string, d, k int) (int, insertion) {
	type candidate struct {
		ins    insertion
		closed bool
		text   string
	}
	var cands []candidate
	add := func(ins insertion, closed bool) {
		cands = append(cands, candidate{ins, closed, sc.segment(k, ins, closed)})
	}
	closedVariants := []bool{strings.Contains(t[:d], "</think>")}
	if !closedVariants[0] && strings.Contains(t[d:], "</think>") {
		closedVariants = append(closedVariants, true)
	}
	xs := map[string]bool{}
	for rest := t[d:]; ; {
		end, out, ok := firstOutputBlock(rest)
		if !ok {
			break
		}
		xs[readOutput(out)] = true
		rest = rest[end:]
	}
	calls := map[toolCall]bool{{lang: "python"}: true}
	for _, e := range fenceCuts(t, d) {
		if ins := sc.r.classify(t[d:e]); ins.kind == segCode {
			calls[ins.call] = true
		}
	}
	for _, closed := range closedVariants {
		for call := range calls {
			add(insertion{kind: segCode, call: call}, closed)
		}
		add(insertion{kind: segCont}, closed)
		for x := range xs {
			add(insertion{kind: segOutput, x: x}, closed)
		}
	}
	for e := d + 1; e < len(t); e++ {
		for _, c := range cands {
			if !opens(t[e:], c.text) {
				continue
			}
			if ins := sc.r.classify(t[d:e]); ins == c.ins && strings.Contains(t[:e], "</think>") == c.closed {
				return e, ins
			}
		}
	}
	return len(t), sc.r.classify(t[d:])
}

// opens reports whether rem starts as segment g does: its first openingLen
// bytes, or all of rem when rem is shorter.
func opens(rem, g string) bool {
	if rem == "" || g == "" || rem[0] != g[0] {
		return false
	}
	n := min(openingLen, len(rem), len(g))
	return rem[:n] == g[:n]
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// classify says what the reasoner writes after the inserted text f: code
// after a hint that invites a tool (see invitation), a reading after a
// closed output block, else a re-check. x is the output's answer, or "" when
// the tool gave nothing usable.
func (r *Reasoner) classify(f string) insertion {
	outEnd, out, ok := lastOutputBlock(f)
	tail := f
	if ok {
		tail = f[outEnd:]
	}
	if call, invited := r.invitation(tail); invited {
		return insertion{kind: segCode, call: call}
	}
	if ok {
		return insertion{kind: segOutput, x: readOutput(out)}
	}
	return insertion{kind: segCont}
}

// lastSentence is the last sentence of text, end punctuation dropped.
func lastSentence(text string) string {
	s := strings.TrimRight(text, " \t\r\n")
	s = strings.TrimRight(s, ".!?")
	if i := strings.LastIndexAny(s, ".!?\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// invitesPython reports whether the last sentence of text mentions Python.
func invitesPython(text string) bool {
	return strings.Contains(strings.ToLower(lastSentence(text)), "python")
}

// firstOutputBlock finds the first closed ```output block in f and returns
// the end of its closing fence and its content.
func firstOutputBlock(f string) (end int, content string, ok bool) {
	return outputBlockAt(f, strings.Index(f, "```output"))
}

// lastOutputBlock finds the last closed ```output block in f and returns
// the end of its closing fence and its content.
func lastOutputBlock(f string) (end int, content string, ok bool) {
	return outputBlockAt(f, strings.LastIndex(f, "```output"))
}

// outputBlockAt reads the ```output block whose opening fence is at start
// (-1: none); ok is false when there is none or it is not closed.
func outputBlockAt(f string, start int) (end int, content string, ok bool) {
	if start < 0 {
		return 0, "", false
	}
	body := f[start+len("```output"):]
	closing := strings.Index(body, "```")
	if closing < 0 {
		return 0, "", false
	}
	return start + len("```output") + closing + 3, body[:closing], true
}

// labelRE is a short capitalised label before a value ("Echo: 24", what
// MCP's reference echo tool answers).
var labelRE = regexp.MustCompile(`^[A-Z][A-Za-z ]{0,30}: (.+)$`)

// readOutput returns the answer an output block gives: its last non-empty
// line without a leading label, or "" when it is empty or reports an error.
func readOutput(out string) string {
	if strings.Contains(out, "Traceback") || strings.Contains(out, "Error") {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if m := labelRE.FindStringSubmatch(last); m != nil {
		return strings.TrimSpace(m[1])
	}
	return last
}
