package hint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// Hint is one hint text.
type Hint struct {
	// Kind is the problem kind the hint is for; empty means any kind.
	Kind trajectory.Kind `json:"kind,omitempty"`
	// Text is inserted verbatim; it starts with the word that makes it read
	// as the model's own thought ("Wait, ...").
	Text string `json:"text"`
	// Lang is the tool language the hint invites ("python"): after it, a
	// fence without a language counts as that language.
	Lang string `json:"lang,omitempty"`
	// Paper marks hints quoted from the START paper.
	Paper bool `json:"paper,omitempty"`
}

// debugTemplate ends the code hints: it opens a python block with a
// placeholder so the model writes a test of its own code right away, as the
// paper's debug hint does.
const debugTemplate = "\n```python\n# test the code above on the examples from the problem\n"

// defaultHints is the built-in library, in the spirit of the paper's
// (Paper: true marks its wording).
var defaultHints = []Hint{
	{Kind: trajectory.KindMath, Lang: "python", Paper: true, Text: "Wait, maybe using Python here is a good idea."},
	{Kind: trajectory.KindMath, Lang: "python", Paper: true, Text: "Wait, I can use Python to check if my approach is correct and refine it, if necessary."},
	{Kind: trajectory.KindMath, Lang: "python", Paper: true, Text: "Wait, I need to make sure I didn't make any calculation mistakes. Using Python code to verify this step would be helpful."},
	{Kind: trajectory.KindMath, Lang: "python", Paper: true, Text: "Alternatively, maybe Python can help me do the calculations more accurately."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Wait, let me write a short Python script to compute this exactly instead of by hand."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Wait, I could enumerate the small cases with Python to see whether the pattern really holds."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Wait, let me double-check this result numerically with Python before going on."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Wait, sympy can simplify this expression for me; let me use Python to confirm it."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Alternatively, a brute-force search in Python would confirm the answer independently."},
	{Kind: trajectory.KindMath, Lang: "python", Text: "Wait, before I finalize, let me verify the answer by plugging it back in with Python."},
	{Kind: trajectory.KindCode, Lang: "python", Paper: true, Text: "Wait, as per the problem, I must debug my code. Let me write a test case with the examples from the problem and run it." + debugTemplate},
	{Kind: trajectory.KindCode, Lang: "python", Text: "Wait, I should run my code on the sample input before trusting it." + debugTemplate},
	{Kind: trajectory.KindCode, Lang: "python", Text: "Wait, I haven't checked the edge cases yet: empty input, a single element, the largest values. Let me test them." + debugTemplate},
	{Kind: trajectory.KindCode, Lang: "python", Text: "Wait, let me make sure the code runs without errors and gives the expected output by executing it." + debugTemplate},
	{Kind: trajectory.KindCode, Lang: "python", Text: "Alternatively, I can compare my solution against a simple brute force on small random inputs in Python." + debugTemplate},
}

// Library is a set of hints, chosen per problem kind. It is immutable and
// safe for concurrent use.
type Library struct {
	hints []Hint
}

// DefaultLibrary returns the built-in library: ten math hints and five code
// hints (the code hints end in an open python block for a test).
func DefaultLibrary() *Library { return &Library{hints: defaultHints} }

// NewLibrary returns a library of the given hints.
func NewLibrary(hints []Hint) (*Library, error) {
	for i, h := range hints {
		if strings.TrimSpace(h.Text) == "" {
			return nil, fmt.Errorf("%w: hint %d: empty text", ErrLibrary, i)
		}
		switch h.Kind {
		case "", trajectory.KindMath, trajectory.KindCode:
		default:
			return nil, fmt.Errorf("%w: hint %d: unknown kind %q", ErrLibrary, i, h.Kind)
		}
	}
	return &Library{hints: hints}, nil
}

// Hints returns a copy of all hints.
func (l *Library) Hints() []Hint { return append([]Hint(nil), l.hints...) }

// For returns the hints that apply to kind, in library order.
func (l *Library) For(kind trajectory.Kind) []Hint {
	var out []Hint
	for _, h := range l.hints {
		if h.Kind == "" || h.Kind == kind {
			out = append(out, h)
		}
	}
	return out
}

// LoadLibrary reads a hint library file; see ParseLibrary.
func LoadLibrary(path string) (*Library, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load hint library: %w", err)
	}
	return ParseLibrary(path, data)
}

// ParseLibrary parses a hint library. A file starting with "[" is a JSON
// array of Hint objects (unknown fields are errors). Otherwise it is plain
// lines "kind: text", kind being math, code or any; text in double quotes
// is unquoted as a Go string (for newlines and fences); a "python" hint is
// one whose text mentions Python. Blank lines and lines starting with "#" are
// skipped. name is used in errors ("file:line: ...").
func ParseLibrary(name string, data []byte) (*Library, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var hints []Hint
		if err := dec.Decode(&hints); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLibrary, trajectory.JSONDocumentError(name, data, dec.InputOffset(), err))
		}
		l, err := NewLibrary(hints)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return l, nil
	}
	var hints []Hint
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, text, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: want \"kind: text\"", ErrLibrary, name, i+1)
		}
		h := Hint{Kind: trajectory.Kind(strings.TrimSpace(kind)), Text: strings.TrimSpace(text)}
		if h.Kind == "any" {
			h.Kind = ""
		}
		if strings.HasPrefix(h.Text, `"`) {
			u, err := strconv.Unquote(h.Text)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: field \"text\": %v", ErrLibrary, name, i+1, err)
			}
			h.Text = u
		}
		if strings.Contains(strings.ToLower(h.Text), "python") {
			h.Lang = "python"
		}
		if _, err := NewLibrary([]Hint{h}); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		hints = append(hints, h)
	}
	return NewLibrary(hints)
}

// PickMode says how hints are chosen from the library.
type PickMode string

// Pick modes.
const (
	// PickRoundRobin takes the kind's hints in order, starting at Seed
	// modulo their number, so samples of one problem get different hints.
	PickRoundRobin PickMode = "round_robin"
	// PickRandom draws uniformly with a generator seeded from Seed.
	PickRandom PickMode = "random"
)

// picker chooses hints for one trajectory.
type picker struct {
	hints []Hint
	mode  PickMode
	next  int
	rng   *rand.Rand
}

func newPicker(hints []Hint, mode PickMode, seed int64) *picker {
	p := &picker{hints: hints, mode: mode, rng: rand.New(rand.NewPCG(uint64(seed), 0x68696e74))}
	if n := len(hints); n > 0 {
		p.next = int(uint64(seed) % uint64(n))
	}
	return p
}

func (p *picker) pick() Hint {
	n := len(p.hints)
	if p.mode == PickRandom {
		return p.hints[p.rng.IntN(n)]
	}
	h := p.hints[p.next%n]
	p.next++
	return h
}
