package sim

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// This file teaches the reasoner tools other than Python: which fence a hint
// invites and what the reasoner writes in it. Python stays the default: a
// hint whose last sentence mentions Python gets a ```python block, exactly as
// before any of this existed.

// toolCall is the fence a hint invites: its language, whether the hint
// already opened the fence (the reasoner writes only the body and the
// closing fence), and a body template the hint gave ("": the configured or
// built-in body for the language).
type toolCall struct {
	lang string
	open bool
	tmpl string
}

// ToolFence teaches the reasoner one tool through configuration rather than
// through the hint text.
type ToolFence struct {
	// Lang is the fence language to write: "bash", "mcp:everything.echo".
	Lang string
	// Words invite the tool: a hint whose last sentence contains one of them
	// (case-insensitively) gets a block in Lang.
	Words []string
	// Body is what the block holds; "<answer>" in it stands for the
	// reference answer (JSON-escaped when Body is a JSON object). Empty: the
	// built-in body for Lang (see the package doc).
	Body string
}

// AnswerPlaceholder stands for the reference answer in a body template, in a
// hint's JSON or in ToolFence.Body.
const AnswerPlaceholder = "<answer>"

// invitation says which tool call the hint text tail (the text after the last
// output block) invites, checked in this order:
//  1. tail ends inside a fence it opened at a line start (```bash and a
//     newline), in a language other than Python: write its body and close it;
//  2. the last paragraph names a fence in its running text ("in a ```bash
//     block", "a ```mcp:everything.echo call with {"message": "<answer>"}"):
//     write that block, with the JSON object that follows the name, if any,
//     as its body;
//  3. the last sentence mentions Python: a ```python block (the default);
//  4. the last sentence contains one of a configured ToolFence's Words.
func (r *Reasoner) invitation(tail string) (toolCall, bool) {
	if lang, at, ok := openFence(tail); ok && !isPython(lang) {
		return toolCall{lang: lang, open: true, tmpl: jsonObject(lastParagraph(tail[:at]))}, true
	}
	if c, ok := fenceMention(lastParagraph(tail)); ok {
		if isPython(c.lang) {
			return toolCall{lang: "python"}, true
		}
		return c, true
	}
	if invitesPython(tail) {
		return toolCall{lang: "python"}, true
	}
	s := strings.ToLower(lastSentence(tail))
	for _, tf := range r.cfg.Tools {
		for _, w := range tf.Words {
			if w != "" && strings.Contains(s, strings.ToLower(w)) {
				return toolCall{lang: tf.Lang}, true
			}
		}
	}
	return toolCall{}, false
}

func isPython(lang string) bool {
	switch strings.ToLower(lang) {
	case "python", "py", "python3", "py3":
		return true
	}
	return false
}

// lastParagraph is the text after the last blank line of s.
func lastParagraph(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndex(s, "\n\n"); i >= 0 {
		return s[i+2:]
	}
	return s
}

// fenceLangRE is a fence language as the reasoner learns it from a hint.
var fenceLangRE = regexp.MustCompile(`^[A-Za-z0-9_+:.\-/]+`)

// fenceLang reads the language after a run of backticks; "output" and ""
// are none.
func fenceLang(s string) string {
	lang := strings.TrimRight(fenceLangRE.FindString(s), ".:")
	if strings.EqualFold(lang, "output") {
		return ""
	}
	return lang
}

// openFence reports whether s ends inside a fence opened at a line start
// with a language, and where that fence's line starts. Only whole lines
// count: an opening line still waiting for its newline opens nothing yet.
func openFence(s string) (lang string, at int, ok bool) {
	inside := false
	for off := 0; off < len(s); {
		line, next := s[off:], len(s)
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		if strings.HasPrefix(line, "```") {
			rest := strings.TrimLeft(line, "`")
			switch {
			case inside && strings.TrimSpace(rest) == "":
				inside = false
			case !inside && next > off+len(line) && fenceLang(rest) != "":
				inside, lang, at = true, fenceLang(rest), off
			}
		}
		off = next
	}
	return lang, at, inside
}

// fenceMention finds the last fence named in running text (``` not at a
// line start) and the JSON object after it, if any.
func fenceMention(par string) (toolCall, bool) {
	for end := len(par); end > 0; {
		i := strings.LastIndex(par[:end], "```")
		if i < 0 {
			return toolCall{}, false
		}
		end = i
		if i == 0 || par[i-1] == '\n' || par[i-1] == '`' {
			continue
		}
		if lang := fenceLang(par[i+3:]); lang != "" {
			return toolCall{lang: lang, tmpl: jsonObject(par[i+3+len(lang):])}, true
		}
	}
	return toolCall{}, false
}

// jsonObject returns the first balanced {...} in s that is valid JSON, or "".
func jsonObject(s string) string {
	for start := strings.IndexByte(s, '{'); start >= 0; {
		depth, inStr, esc := 0, false, false
		for i := start; i < len(s); i++ {
			c := s[i]
			switch {
			case esc:
				esc = false
			case inStr && c == '\\':
				esc = true
			case c == '"':
				inStr = !inStr
			case inStr:
			case c == '{':
				depth++
			case c == '}':
				depth--
			}
			if depth == 0 {
				if obj := s[start : i+1]; json.Valid([]byte(obj)) {
					return obj
				}
				break
			}
		}
		next := strings.IndexByte(s[start+1:], '{')
		if next < 0 {
			return ""
		}
		start += 1 + next
	}
	return ""
}

// fenceCuts are the positions after d where a code segment for a tool other
// than the default Python may start: a blank line before a fence (the
// reasoner's own block), the line after a fence opened at a line start (the
// body of a fence a hint opened), and a newline near the end of t (a block
// whose first bytes only were written).
func fenceCuts(t string, d int) []int {
	var cuts []int
	for e := max(d+1, len(t)-openingLen); e < len(t); e++ {
		if t[e] == '\n' {
			cuts = append(cuts, e)
		}
	}
	for off := d; ; {
		i := strings.Index(t[off:], "```")
		if i < 0 {
			return cuts
		}
		p := off + i
		if p >= d+2 && t[p-2:p] == "\n\n" {
			cuts = append(cuts, p-2)
		}
		if (p == d || t[p-1] == '\n') && fenceLang(t[p+3:]) != "" {
			if nl := strings.IndexByte(t[p:], '\n'); nl >= 0 {
				cuts = append(cuts, p+nl+1)
			}
		}
		off = p + 3
	}
}

// codeBlock is the text of a code segment for call: the block (or, for a
// fence the hint opened, its body and closing fence).
func (sc *script) codeBlock(k int, call toolCall) string {
	if call.lang == "python" {
		return "\n\n```python\n" + sc.toolCode(k) + "\n```"
	}
	body := sc.toolBody(k, call)
	if call.open {
		return body + "\n```"
	}
	return "\n\n```" + call.lang + "\n" + body + "\n```"
}

// toolBody is what the reasoner writes in a block for call: the hint's
// template, else the configured one, else the built-in body of the language.
func (sc *script) toolBody(k int, call toolCall) string {
	if call.lang == "python" {
		return sc.toolCode(k)
	}
	tmpl := call.tmpl
	if tmpl == "" {
		for _, tf := range sc.r.cfg.Tools {
			if strings.EqualFold(tf.Lang, call.lang) && tf.Body != "" {
				tmpl = tf.Body
				break
			}
		}
	}
	if tmpl != "" {
		return fillAnswer(tmpl, sc.reference())
	}
	answer := sc.reference()
	switch strings.ToLower(call.lang) {
	case "bash", "sh", "shell", "zsh":
		return shellCode(*sc.p, sc.rng(k, 0xb06).Float64() < sc.r.cfg.BuggyCodeRate)
	case "perl", "pl":
		return "print " + singleQuoted(answer, `\`) + `, "\n";`
	case "ruby", "rb":
		return "puts " + singleQuoted(answer, `\`)
	case "javascript", "js", "node":
		q, _ := json.Marshal(answer)
		return "console.log(" + string(q) + ");"
	case "sql", "sqlite":
		return "SELECT " + singleQuoted(answer, "") + ";"
	}
	if strings.HasPrefix(strings.ToLower(call.lang), "mcp:") {
		return "{}"
	}
	return answer
}

// singleQuoted writes s as a '...' literal whose quote is escaped by
// doubling (SQL: esc "") or by a backslash (Perl, Ruby: esc `\`, which
// escapes itself too).
func singleQuoted(s, esc string) string {
	if esc == "" {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	s = strings.ReplaceAll(s, esc, esc+esc)
	return "'" + strings.ReplaceAll(s, "'", esc+"'") + "'"
}

// reference is the answer a tool that helps would find.
func (sc *script) reference() string {
	if sc.p.Kind == trajectory.KindCode {
		return sc.p.Question + sc.p.CanonicalCode
	}
	return sc.p.Answer
}

// fillAnswer puts answer where tmpl says AnswerPlaceholder, escaped as inside
// a JSON string when tmpl is a JSON object.
func fillAnswer(tmpl, answer string) string {
	if strings.HasPrefix(strings.TrimSpace(tmpl), "{") {
		q, _ := json.Marshal(answer)
		answer = string(q[1 : len(q)-1])
	}
	return strings.ReplaceAll(tmpl, AnswerPlaceholder, answer)
}

// shellCode is the shell program the reasoner writes for p: for a code
// problem, its Python program run by python3 from a here-document; else a
// printf of the reference answer.
func shellCode(p trajectory.Problem, buggyCode bool) string {
	if p.Kind == trajectory.KindCode {
		return "python3 - <<'EOF'\n" + ToolCode(p, buggyCode) + "\nEOF"
	}
	return "# print the result\nprintf '%s\\n' " + shellQuote(p.Answer)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
