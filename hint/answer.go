package hint

import (
	"iter"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// This file extracts a final answer and compares it with a reference. The
// comparison is deliberately basic (the curate package grades for real); it
// lets a run report Correct without depending on curate.

var (
	hashAnswer  = regexp.MustCompile(`(?m)^#### *(.+?)\s*$`)
	finalAnswer = regexp.MustCompile(`(?i)final answer\**\s*[:：]\s*\**\s*(.+)`)
	theAnswerIs = regexp.MustCompile(`(?i)the (?:final )?answer is[:\s]*(.+)`)
)

// ExtractAnswer returns the final answer in the model's own text: gen steps
// (and code steps for code problems); hints and tool output are not the
// model's answer. For math: the last \boxed{...} or \fbox{...}, else the
// last GSM8K "#### X", else the last "Final Answer: X", else the last "The
// answer is X". For code: the last python code block, closed or not.
func ExtractAnswer(kind trajectory.Kind, steps []trajectory.Step) string {
	var parts []string
	for _, s := range steps {
		if s.Kind == trajectory.StepGen || kind == trajectory.KindCode && s.Kind == trajectory.StepCode {
			parts = append(parts, s.Text)
		}
	}
	text := ""
	if len(parts) == 1 {
		text = parts[0] // the common case: no copy of a long text
	} else {
		text = strings.Join(parts, "")
	}
	if kind == trajectory.KindCode {
		return lastCodeBlock(text)
	}
	return ExtractMathAnswer(text)
}

// ExtractMathAnswer applies the math rules of ExtractAnswer to text.
func ExtractMathAnswer(text string) string {
	if a, ok := lastBoxed(text); ok {
		return strings.TrimSpace(a)
	}
	for _, re := range []*regexp.Regexp{hashAnswer, finalAnswer, theAnswerIs} {
		if m := re.FindAllStringSubmatch(text, -1); m != nil {
			a := strings.TrimSpace(m[len(m)-1][1])
			a = strings.TrimSuffix(strings.TrimSpace(strings.Trim(a, "*")), ".")
			if a != "" {
				return strings.TrimSpace(a)
			}
		}
	}
	return ""
}

// Box is one \boxed{…} or \fbox{…} in a text: Start is the offset of its
// backslash, End the offset just past its closing brace, Arg the text
// between its braces.
type Box struct {
	Start, End int
	Arg        string
}

// Boxes yields the \boxed{…} and \fbox{…} of text whose braces balance, in
// order. It scans forward with strings.IndexByte, which is vectorised,
// unlike LastIndex: texts run to hundreds of kilobytes. curate's answer
// extraction uses it too, so hint and curate agree on what a box is.
func Boxes(text string) iter.Seq[Box] {
	return func(yield func(Box) bool) {
		for i := 0; ; {
			j := strings.IndexByte(text[i:], '\\')
			if j < 0 {
				return
			}
			i += j + 1
			rest := text[i:]
			var n int
			switch {
			case strings.HasPrefix(rest, "boxed"):
				n = len("boxed")
			case strings.HasPrefix(rest, "fbox"):
				n = len("fbox")
			default:
				continue
			}
			k := n
			for k < len(rest) && rest[k] == ' ' {
				k++
			}
			if k < len(rest) && rest[k] == '{' {
				if arg, bal := braced(rest[k:]); bal {
					if !yield(Box{Start: i - 1, End: i + k + len(arg) + 2, Arg: arg}) {
						return
					}
				}
			}
		}
	}
}

// lastBoxed returns the argument of the last box of text (see Boxes).
func lastBoxed(text string) (string, bool) {
	found, ok := "", false
	for b := range Boxes(text) {
		found, ok = b.Arg, true
	}
	return found, ok
}

func braced(s string) (string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // \{ and \} do not count
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

func lastCodeBlock(text string) string {
	i := strings.LastIndex(text, "```python\n")
	if i < 0 {
		return ""
	}
	body := text[i+len("```python\n"):]
	if j := strings.Index(body, "\n```"); j >= 0 {
		body = body[:j]
	}
	return strings.TrimSpace(body)
}

var (
	textWrap  = regexp.MustCompile(`\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}`)
	fracPlain = regexp.MustCompile(`^(-?)\\frac\{(-?[0-9.]+)\}\{(-?[0-9.]+)\}$`)
	fracShort = regexp.MustCompile(`^(-?)\\frac(\d)(\d)$`)
	numComma  = regexp.MustCompile(`^-?\d{1,3}(,\d{3})+(\.\d+)?$`)
)

// NormalizeAnswer puts an answer in a canonical form for AnswersEqual:
// whitespace, "$", "\!", "\left"/"\right", \text{} wrappers, degree marks and
// a trailing period go; \dfrac and \tfrac become \frac; thousands commas and
// a trailing ".0" go from numbers.
func NormalizeAnswer(a string) string {
	a = strings.TrimSpace(a)
	a = strings.TrimSuffix(a, ".")
	for _, r := range []struct{ old, new string }{
		{`\!`, ""}, {`\,`, ""}, {`\;`, ""}, {`\ `, ""}, {"$", ""},
		{`\left`, ""}, {`\right`, ""}, {`\dfrac`, `\frac`}, {`\tfrac`, `\frac`},
		{`^\circ`, ""}, {`^{\circ}`, ""}, {`\%`, ""}, {"%", ""},
	} {
		a = strings.ReplaceAll(a, r.old, r.new)
	}
	a = textWrap.ReplaceAllString(a, "$1")
	a = strings.Join(strings.Fields(a), "")
	if numComma.MatchString(a) {
		a = strings.ReplaceAll(a, ",", "")
	}
	if strings.HasSuffix(a, ".0") {
		if _, err := strconv.ParseFloat(a, 64); err == nil {
			a = strings.TrimSuffix(a, ".0")
		}
	}
	return a
}

// numeric evaluates a normalised answer that is a number or a simple
// fraction.
func numeric(a string) (float64, bool) {
	if f, err := strconv.ParseFloat(a, 64); err == nil {
		return f, true
	}
	m := fracPlain.FindStringSubmatch(a)
	if m == nil {
		m = fracShort.FindStringSubmatch(a)
	}
	if m == nil {
		if n, d, ok := strings.Cut(a, "/"); ok {
			m = []string{"", "", n, d}
		} else {
			return 0, false
		}
	}
	n, err1 := strconv.ParseFloat(m[2], 64)
	d, err2 := strconv.ParseFloat(m[3], 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0, false
	}
	v := n / d
	if m[1] == "-" {
		v = -v
	}
	return v, true
}

// AnswersEqual reports whether two answers agree after NormalizeAnswer, as
// strings or as numbers within a relative tolerance of 1e-6.
func AnswersEqual(got, want string) bool {
	g, w := NormalizeAnswer(got), NormalizeAnswer(want)
	if g == w {
		return true
	}
	gv, ok1 := numeric(g)
	wv, ok2 := numeric(w)
	if !ok1 || !ok2 {
		return false
	}
	return math.Abs(gv-wv) <= 1e-6*math.Max(1, math.Max(math.Abs(gv), math.Abs(wv)))
}
