package curate

import (
	"regexp"
	"strings"
)

// value is an answer's structure: a single expression, an equation, a
// relation, or a list (tuple, interval, set, matrix row) of values.
type value struct {
	kind  byte // 'e' expression, 'q' equation, 'r' relation, 'l' ordered list, 's' set, 'm' matrix
	open  byte // brackets of a list: ( [ {, or 0 for a bare "1, 2"
	close byte
	union bool     // a set written A \cup B
	src   string   // the text, for expressions
	items []value  // elements; an equation's two sides; a relation's sides
	ops   []string // a relation's operators between its sides: < <= > >= !=
}

// squash drops all white space, for comparing spellings.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

func choiceLetter(s string) (string, bool) {
	m := reChoice.FindStringSubmatch(squash(s))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// reLoneVar is what may stand alone on the left of an assignment: a
// letter or greek letter, with a subscript, a function name with its
// argument, f(x), or a segment or figure named by capitals, AB, |AB|, ABCD.
var reLoneVar = regexp.MustCompile(`^(?:[A-Za-z]|[A-Z]{2,4}|\|[A-Z]{2}\||\\[a-zA-Z]+)(?:_\{?[A-Za-z0-9]+\}?)?(?:\([A-Za-z, ]+\))?$`)

func isLoneVar(s string) bool {
	s = strings.TrimSpace(s)
	if !reLoneVar.MatchString(s) {
		return false
	}
	if strings.HasPrefix(s, `\`) {
		name := strings.TrimLeft(s, `\`)
		if i := strings.IndexAny(name, "_("); i >= 0 {
			name = name[:i]
		}
		return greek[name]
	}
	return true
}

// relOps are the relation operators Normalize writes, longest first.
var relOps = []string{"<=", ">=", "!=", "<", ">"}

// parseAnswer splits an answer into its structure without evaluating it.
func parseAnswer(s string) value {
	s = strings.TrimSpace(s)
	if m := reMatrix.FindStringSubmatch(s); m != nil {
		v := value{kind: 'm', src: s}
		for _, row := range strings.Split(m[1], `\\`) {
			if strings.TrimSpace(row) == "" {
				continue
			}
			r := value{kind: 'l', open: '[', close: ']'}
			for _, cell := range strings.Split(row, "&") {
				r.items = append(r.items, parseAnswer(cell))
			}
			v.items = append(v.items, r)
		}
		return v
	}
	if parts := splitTop(s, `\cup`); len(parts) > 1 {
		v := value{kind: 's', src: s, union: true}
		for _, p := range parts {
			v.items = append(v.items, parseAnswer(p))
		}
		return v
	}
	if strings.HasPrefix(s, `\{`) && strings.HasSuffix(s, `\}`) && balanced(s[2:len(s)-2]) {
		return listOf('s', '{', '}', s[2:len(s)-2], s)
	}
	if len(s) >= 2 && strings.ContainsRune("([", rune(s[0])) && strings.ContainsRune(")]", rune(s[len(s)-1])) &&
		balanced(s[1:len(s)-1]) && len(splitTop(s[1:len(s)-1], ",")) > 1 {
		return listOf('l', s[0], s[len(s)-1], s[1:len(s)-1], s)
	}
	if parts := splitTop(s, ","); len(parts) > 1 {
		return listOf('s', 0, 0, s, s) // "1, -2": all solutions, in any order
	}
	if parts := splitTop(s, "="); len(parts) >= 2 {
		l, r := parts[0], parts[len(parts)-1]
		if len(parts) > 2 && !isLoneVar(l) {
			return value{kind: 'e', src: s} // a = b = c that assigns nothing: unparsable
		}
		if !isLoneVar(l) && isLoneVar(r) && !isNamedTuple(l) {
			l, r = r, l // 5 = x
		}
		lv := value{kind: 'e', src: l}
		if isNamedTuple(l) {
			lv = parseAnswer(l)
		}
		rv := value{kind: 'e', src: r}
		if isLoneVar(l) || isNamedTuple(l) {
			rv = parseAnswer(r) // x = \pm 2, (p, q) = (3, 2)
		}
		return value{kind: 'q', src: s, items: []value{lv, rv}}
	}
	if v, ok := parseRelation(s); ok {
		return v
	}
	if parts := splitTop(s, `\pm`); len(parts) == 2 {
		return value{kind: 's', src: s, items: []value{
			{kind: 'e', src: parts[0] + "+" + wrap(parts[1])},
			{kind: 'e', src: parts[0] + "-" + wrap(parts[1])},
		}}
	}
	// A ratio of numbers, 7:32, is their quotient; a ratio of names (A:B)
	// stays unread.
	if parts := splitTop(s, ":"); len(parts) == 2 && parts[0] != "" && parts[1] != "" && !strings.ContainsFunc(s, isLetter) {
		s = wrap(parts[0]) + "/" + wrap(parts[1])
	}
	// A mixed number, as MATH writes 137 \frac{1}{2}, also inside a list.
	if m := reMixed.FindStringSubmatch(s); m != nil {
		s = m[1] + "(" + m[2] + "+" + m[3] + "/" + m[4] + ")"
	}
	return value{kind: 'e', src: s}
}

// isNamedTuple reports whether s is a tuple of lone variables, (p, q).
func isNamedTuple(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	parts := splitTop(s[1:len(s)-1], ",")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !isLoneVar(p) {
			return false
		}
	}
	return true
}

// isAssignment reports whether v is an equation with a lone variable (or
// named tuple) on its left: x = 5, y = 2x + 1, (p, q) = (3, 2).
func isAssignment(v value) bool {
	return v.kind == 'q' && (v.items[0].kind == 'l' || isLoneVar(v.items[0].src))
}

// parseRelation splits a < b <= c at its top-level relation operators.
func parseRelation(s string) (value, bool) {
	v := value{kind: 'r', src: s}
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth != 0 {
			continue
		}
		for _, op := range relOps {
			if strings.HasPrefix(s[i:], op) {
				v.items = append(v.items, value{kind: 'e', src: strings.TrimSpace(s[last:i])})
				v.ops = append(v.ops, op)
				last = i + len(op)
				i += len(op) - 1
				break
			}
		}
	}
	if len(v.ops) == 0 {
		return value{}, false
	}
	v.items = append(v.items, value{kind: 'e', src: strings.TrimSpace(s[last:])})
	for _, it := range v.items {
		if it.src == "" {
			return value{}, false
		}
	}
	return v, true
}

func wrap(s string) string { return "(" + s + ")" }

func listOf(kind, open, close byte, inner, src string) value {
	v := value{kind: kind, open: open, close: close, src: src}
	for _, p := range splitTop(inner, ",") {
		it := parseAnswer(p)
		if kind == 's' && it.kind == 's' && it.open == 0 && !it.union {
			v.items = append(v.items, it.items...) // {1 \pm \sqrt5, -2} has three elements
			continue
		}
		v.items = append(v.items, it)
	}
	return v
}

// splitTop splits s at sep where sep is outside every bracket pair.
func splitTop(s, sep string) []string {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			if sep == "=" && i > 0 && strings.ContainsRune("<>!", rune(s[i-1])) {
				continue // <=, >=, != are relations
			}
			parts = append(parts, strings.TrimSpace(s[last:i]))
			last = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, strings.TrimSpace(s[last:]))
}

func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
