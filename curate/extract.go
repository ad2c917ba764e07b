package curate

import (
	"regexp"
	"slices"
	"strings"

	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Extraction is the answer found in a model's response and the rule that
// found it. Extraction and comparison are separate steps: a wrong grade is
// either a wrong extraction or a wrong comparison, and `grade --json` shows
// which.
type Extraction struct {
	Answer string `json:"answer"`
	Rule   string `json:"rule"`
}

// Extraction rules, in the order they are tried.
const (
	RuleBoxed        = "boxed"        // the last \boxed{} (several in one closing sentence: a list)
	RuleFinalAnswer  = "final_answer" // "The final answer is …", "Final Answer: …"
	RuleAnswerLine   = "answer_line"  // "Answer: …", "**Answer:** …"
	RuleHashes       = "hashes"       // GSM8K "#### 42"
	RuleAnswerIs     = "answer_is"    // "the answer is …"
	RuleChoice       = "choice"       // "the correct option is (B)"
	RuleDisplay      = "display_math" // the text ends on \[ … \] or $$ … $$
	RuleInline       = "inline_math"  // the text ends on $ … $
	RuleStatement    = "statement"    // the last sentence states it: "… is 2/3."
	RuleLastNumber   = "last_number"  // a short text in words: its last number
	RuleWhole        = "whole"        // no rule matched: the text is the answer
	RuleEmptyExtract = "none"         // nothing to extract
	boxedListGap     = 48             // most bytes between boxes of one list
	extractTail      = 8 << 10        // prose rules look at the last 8 KiB
)

var (
	reFinalAnswer = regexp.MustCompile(`(?i)final\s+answer(?:\s+is)?\**\s*[:：]?\s*\**\s*(.+)`)
	reAnswerLine  = regexp.MustCompile(`(?im)^\s*(?:\*\*|#+\s*)?answer\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+)$`)
	reHashes      = regexp.MustCompile(`(?m)^#### *(.+?)\s*$`)
	reAnswerIs    = regexp.MustCompile(`(?i)\bthe\s+(?:correct\s+)?answer\s+(?:is|should\s+be|would\s+be)\s*[:：]?\s*(.+)`)
	reChoiceIs    = regexp.MustCompile(`(?i)\b(?:correct\s+)?(?:option|choice)\s+(?:is\s+)?[:：]?\s*\(?\**\s*\(?([A-E])\)?(?:\W|$)`)
	reLeadChoice  = regexp.MustCompile(`^\**\(?([A-E])\)?\**(?:[.:)\s]|$)`)
	// reBoxGap is what may stand between the boxes of one list: commas,
	// "and"/"or", spacing, and the next variable's "y =".
	reBoxGap = regexp.MustCompile(`^[\s$,]*(?:(?:and|or|\\text\{\s*(?:and|or)\s*\}|\\quad|\\qquad|\\,|\\;|\\\(|\\\))[\s$,]*)*(?:[A-Za-z](?:_\{?\w+\}?)?\s*=\s*)?[\s$]*(?:\\\()?[\s$]*$`)
	// reBoxNoun allows the first box's noun: "\boxed{1} paper and \boxed{2} bins".
	reBoxNoun    = regexp.MustCompile(`^\s*[A-Za-z]+\s*,?\s*(?:and|or)\s*$`)
	reHope       = regexp.MustCompile(`(?i)\s*I hope (?:it|this) is correct\.?\s*$`)
	reProse      = regexp.MustCompile(`[A-Za-z]{2,}[\s,:]+[A-Za-z]{2,}`)
	reMathSpan   = regexp.MustCompile(`\$\$?([^$]+?)\$\$?`)
	reLastNumber = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?`)
	reLeadNumber = regexp.MustCompile(`^-?\d[\d,]*(?:\.\d+)?(?:/\d+)?`)
	reStatement  = regexp.MustCompile(`(?i)\b(?:is|are|equals|was|be)\s+(?:equal\s+to\s+|exactly\s+|approximately\s+)?`)
	reTrailPunct = regexp.MustCompile(`[\s.。,;!*]+$`)
	// reSentenceEnd ends an answer phrase at a sentence end: ". I hope it
	// is correct", not at the point of 3.5.
	reSentenceEnd = regexp.MustCompile(`[.。!](?:\s+[A-Z(]|\s*$)|\s+(?:because|since|which|as|so|where)\s`)
)

// Extract returns the final answer of a response written as prose. Rules in
// order: the last \boxed{} or \fbox{} (several boxes in the closing sentence
// become one comma-separated list); "The final answer is $…$" and "Final
// Answer: …"; a line "Answer: …"; GSM8K's "#### …"; "the answer is …"; a
// choice letter in its usual phrasings; a display \[…\] or $$…$$ the text
// ends on; an inline $…$ the text ends on. Text with none of these is
// returned whole (rule "whole") when it is one paragraph of at most 1000
// bytes, as a bare answer is; a longer text without an answer extracts nothing.
func Extract(text string) Extraction {
	return extract(text, true)
}

// chatEnds are the chat-template tokens after which a response is over.
var chatEnds = []string{"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>"}

// ExtractResponse is Extract for a model's whole response: a text with no
// answer phrase or final math extracts nothing, never itself.
func ExtractResponse(text string) Extraction {
	return extract(text, false)
}

// ExtractReference extracts a reference answer: its boxed part when it is
// a whole solution, else the text itself ("$1$ and $2$" is both).
func ExtractReference(text string) Extraction {
	if a, ok := boxedAnswer(text); ok {
		return Extraction{Answer: strings.TrimSpace(a), Rule: RuleBoxed}
	}
	if strings.TrimSpace(text) == "" {
		return Extraction{Rule: RuleEmptyExtract}
	}
	return Extraction{Answer: strings.TrimSpace(text), Rule: RuleWhole}
}

// ExtractSteps extracts the answer from a trajectory's generated steps:
// hints and tool output are not the model's answer.
func ExtractSteps(steps []trajectory.Step) Extraction {
	var b strings.Builder
	for _, s := range steps {
		if s.Kind == trajectory.StepGen {
			b.WriteString(s.Text)
		}
	}
	return ExtractResponse(b.String())
}

func extract(text string, whole bool) Extraction {
	for _, tok := range chatEnds {
		if i := strings.Index(text, tok); i >= 0 {
			text = text[:i] // "… is 2/3. <|im_start|>user": the turn ended there
		}
	}
	text = strings.TrimSpace(text)
	if n := len(text) - 40; n > 0 { // the regexp only sees the end: texts run long
		text = strings.TrimSpace(text[:n] + reHope.ReplaceAllString(text[n:], ""))
	} else {
		text = strings.TrimSpace(reHope.ReplaceAllString(text, ""))
	}
	if text == "" {
		return Extraction{Rule: RuleEmptyExtract}
	}
	if a, ok := boxedAnswer(text); ok {
		return Extraction{Answer: strings.TrimSpace(a), Rule: RuleBoxed}
	}
	tail := text
	if len(tail) > extractTail {
		tail = tail[len(tail)-extractTail:]
	}
	for _, r := range []struct {
		re   *regexp.Regexp
		rule string
	}{
		{reFinalAnswer, RuleFinalAnswer}, {reAnswerLine, RuleAnswerLine}, {reHashes, RuleHashes}, {reAnswerIs, RuleAnswerIs},
	} {
		m := r.re.FindAllStringSubmatch(tail, -1)
		if m == nil {
			continue
		}
		a := m[len(m)-1][1]
		for { // "Final Answer: The final answer is $5$."
			mm := r.re.FindStringSubmatch(a)
			if mm == nil || len(mm[1]) >= len(a) {
				break
			}
			a = mm[1]
		}
		if a := cleanPhrase(a); a != "" {
			return Extraction{Answer: a, Rule: r.rule}
		}
	}
	if m := reChoiceIs.FindAllStringSubmatch(tail, -1); m != nil {
		return Extraction{Answer: m[len(m)-1][1], Rule: RuleChoice}
	}
	if a, ok := finalMath(tail); ok {
		return a
	}
	// Only a finished sentence: a response cut off mid-thought ("so far the
	// count is 5") states nothing.
	if a := finalStatement(tail); a != "" && strings.HasSuffix(tail, ".") {
		return Extraction{Answer: a, Rule: RuleStatement}
	}
	if !whole || len(text) > 1000 || strings.Contains(text, "\n\n") {
		return Extraction{Rule: RuleEmptyExtract}
	}
	if reProse.MatchString(reMathSpan.ReplaceAllString(text, " ")) {
		// A short text in words: its last math span or number.
		if m := reMathSpan.FindAllStringSubmatch(text, -1); m != nil {
			return Extraction{Answer: strings.TrimSpace(m[len(m)-1][1]), Rule: RuleInline}
		}
		if m := reLastNumber.FindAllString(text, -1); m != nil {
			return Extraction{Answer: m[len(m)-1], Rule: RuleLastNumber}
		}
	}
	return Extraction{Answer: text, Rule: RuleWhole}
}

// finalStatement reads the last sentence of a response when it states a
// value: "Therefore, the probability that Alice wins is 2/3." gives 2/3,
// "there are 12 distinct sequences." gives 12.
func finalStatement(text string) string {
	t := strings.TrimRight(strings.TrimSpace(text), ".")
	if i := strings.LastIndexAny(t, ".\n"); i >= 0 {
		for i >= 0 && i+1 < len(t) && t[i] == '.' && t[i+1] >= '0' && t[i+1] <= '9' {
			i = strings.LastIndexAny(t[:i], ".\n") // 3.5 is no sentence end
		}
		t = t[i+1:]
	}
	m := reStatement.FindAllStringSubmatchIndex(t, -1)
	if m == nil {
		return ""
	}
	rest := strings.TrimSpace(t[m[len(m)-1][1]:])
	if sp := reMathSpan.FindStringSubmatchIndex(rest); sp != nil && sp[0] == 0 {
		return strings.TrimSpace(rest[sp[2]:sp[3]])
	}
	if n := reLeadNumber.FindString(rest); n != "" {
		return strings.TrimSpace(n)
	}
	return ""
}

// cleanPhrase trims what follows an answer phrase: surrounding math
// delimiters, bold, a closing period, and a choice letter's label text.
func cleanPhrase(s string) string {
	s = strings.TrimSpace(s)
	if a, ok := boxedAnswer(s); ok {
		return strings.TrimSpace(a)
	}
	// "$\frac{1}{2}$." or "\(x=3\), which …": the first math span.
	for _, d := range [][2]string{{"$$", "$$"}, {"$", "$"}, {`\(`, `\)`}, {`\[`, `\]`}} {
		if strings.HasPrefix(s, d[0]) {
			if j := strings.Index(s[len(d[0]):], d[1]); j >= 0 {
				return strings.TrimSpace(s[len(d[0]) : len(d[0])+j])
			}
		}
	}
	if i := reSentenceEnd.FindStringIndex(s); i != nil {
		s = s[:i[0]]
	}
	if reProse.MatchString(reMathSpan.ReplaceAllString(s, " ")) {
		// "The volume of $ABCDEFGH$ is 120": the value the sentence states.
		if a := finalStatement(s); a != "" {
			return a
		}
		if m := reLastNumber.FindAllString(s, -1); m != nil {
			return m[len(m)-1]
		}
	}
	s = reTrailPunct.ReplaceAllString(s, "")
	s = strings.Trim(s, "*")
	if m := reLeadChoice.FindStringSubmatch(s); m != nil && (len(s) <= 3 || !isWordChar(s, len(m[0]))) {
		return m[1]
	}
	return strings.TrimSpace(s)
}

func isWordChar(s string, i int) bool {
	return i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z')
}

// finalMath finds a display or inline math span the text ends on, allowing
// a closing period.
func finalMath(text string) (Extraction, bool) {
	t := strings.TrimRight(text, " \t\n.")
	for _, d := range []struct{ open, close, rule string }{
		{`\[`, `\]`, RuleDisplay}, {"$$", "$$", RuleDisplay}, {`\(`, `\)`, RuleInline}, {"$", "$", RuleInline},
	} {
		if !strings.HasSuffix(t, d.close) {
			continue
		}
		body := strings.TrimSuffix(t, d.close)
		i := strings.LastIndex(body, d.open)
		if i < 0 {
			continue
		}
		a := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(body[i+len(d.open):]), "."))
		if d.open == "$" && strings.HasSuffix(body[:i], "$") {
			continue // the end of a $$ … $$ pair, tried above
		}
		if a != "" {
			return Extraction{Answer: a, Rule: d.rule}, true
		}
	}
	return Extraction{}, false
}

// boxedAnswer returns the argument of the last \boxed{…} or \fbox{…} whose
// braces balance; boxes in the same closing sentence as the last one ("the
// roots are \boxed{2} and \boxed{-3}") are joined into one list.
func boxedAnswer(text string) (string, bool) {
	boxes := slices.Collect(hint.Boxes(text))
	if len(boxes) == 0 {
		return "", false
	}
	last := len(boxes) - 1
	first := last
	for first > 0 {
		gap := text[boxes[first-1].End:boxes[first].Start]
		if len(gap) > boxedListGap || !reBoxGap.MatchString(gap) && !reBoxNoun.MatchString(gap) {
			break
		}
		first--
	}
	if first == last {
		return boxes[last].Arg, true
	}
	parts := make([]string, 0, last-first+1)
	for _, b := range boxes[first : last+1] {
		parts = append(parts, strings.TrimSpace(b.Arg))
	}
	return strings.Join(parts, ", "), true
}

// braced returns the content of the balanced group s starts with.
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
