package sim

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hintfleet/hintfleet/trajectory"
)

// ToolCode is the Python program the reasoner writes for p after a hint that
// invites Python. It is real code that computes the reference answer, so that
// a tool that runs it prints what the reasoner then answers with:
//   - code problems (HumanEval): the prompt and canonical solution (a buggy
//     variant when buggyCode), the tests, check(entry_point), and a line
//     saying the tests passed;
//   - problems whose solution carries GSM8K calculator annotations
//     (<<48/2=24>>): one assignment per annotation, printing the last, when
//     the last one's result is the answer;
//   - others (MATH, AIME, AMC): the answer's LaTeX turned into a sympy
//     expression and printed back as LaTeX, or print(number), or, when the
//     LaTeX is beyond the simple conversion, the answer as a string literal.
func ToolCode(p trajectory.Problem, buggyCode bool) string {
	if p.Kind == trajectory.KindCode {
		solution := p.CanonicalCode
		if buggyCode {
			solution = buggy(solution)
		}
		return p.Question + solution + "\n\n" + strings.TrimSpace(p.Test) +
			"\n\ncheck(" + p.EntryPoint + ")\nprint(\"All tests passed.\")"
	}
	if code, ok := gsm8kCode(p); ok {
		return code
	}
	return mathCode(p.Answer)
}

var (
	annotationRE = regexp.MustCompile(`<<([^=<>]+)=([^<>]*)>>`)
	arithmeticRE = regexp.MustCompile(`^[0-9.+\-*/() ]+$`)
	plainNumRE   = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
)

// gsm8kCode rebuilds the calculation from the calculator annotations of the
// reference solution.
func gsm8kCode(p trajectory.Problem) (string, bool) {
	src := p.Solution
	if !strings.Contains(src, "<<") {
		src = p.Answer
	}
	matches := annotationRE.FindAllStringSubmatch(src, -1)
	if len(matches) == 0 {
		return "", false
	}
	want, err := strconv.ParseFloat(strings.ReplaceAll(p.Answer, ",", ""), 64)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	b.WriteString("# Recompute each step of the calculation.\n")
	last := ""
	n := 0
	for _, m := range matches {
		expr := strings.TrimSpace(m[1])
		if !arithmeticRE.MatchString(expr) {
			continue
		}
		n++
		last = "step" + strconv.Itoa(n)
		b.WriteString(last + " = " + expr + "\n")
		got, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(m[2]), ",", ""), 64)
		if err != nil || got != want {
			last = "" // only an annotation that equals the answer may be printed
		} else {
			last = "step" + strconv.Itoa(n)
		}
	}
	if n == 0 {
		return "", false
	}
	if last == "" {
		b.WriteString("result = " + strings.ReplaceAll(p.Answer, ",", "") + "\n")
	} else {
		b.WriteString("result = " + last + "\n")
	}
	b.WriteString("print(int(round(result)) if abs(result - round(result)) < 1e-9 else result)")
	return b.String(), true
}

var mixedNumRE = regexp.MustCompile(`^(\d+)\s*\\[dt]?frac\{(\d+)\}\{(\d+)\}$`)

// mathCode evaluates a LaTeX answer with sympy where the conversion is easy.
func mathCode(answer string) string {
	a := strings.TrimSpace(answer)
	if plainNumRE.MatchString(a) {
		return "print(" + a + ")"
	}
	// A mixed number such as 137 \frac{1}{2} is a sum, not a product.
	if m := mixedNumRE.FindStringSubmatch(a); m != nil {
		a = m[1] + " + \\frac{" + m[2] + "}{" + m[3] + "}"
	}
	if expr, ok := latexToSympy(a); ok {
		return "from sympy import *\n" +
			"from sympy.parsing.sympy_parser import parse_expr, standard_transformations, implicit_multiplication_application\n" +
			"expr = parse_expr(" + strconv.Quote(expr) + ", transformations=standard_transformations + (implicit_multiplication_application,))\n" +
			"print(latex(expr))"
	}
	return "print(" + strconv.Quote(a) + ")"
}

// latexToSympy converts simple LaTeX (\frac, \sqrt, \pi, ^, \cdot) into a
// sympy expression string.
func latexToSympy(s string) (string, bool) {
	r := strings.NewReplacer("\\dfrac", "\\frac", "\\tfrac", "\\frac", "\\left", "", "\\right", "",
		"\\cdot", "*", "\\times", "*", "\\pi", " pi ", "\\!", "", "\\,", "", "$", "", "^", "**")
	s = r.Replace(s)
	out, ok := convertBraces(s)
	if !ok {
		return "", false
	}
	out = strings.Join(strings.Fields(out), " ")
	for _, c := range out {
		if !strings.ContainsRune("0123456789+-*/(). abcdefghijklmnopqrstuvwxyz", c) {
			return "", false
		}
	}
	// Only known names and single-letter variables.
	for _, w := range regexp.MustCompile(`[a-z]+`).FindAllString(out, -1) {
		if len(w) > 1 && w != "pi" && w != "sqrt" {
			return "", false
		}
	}
	return out, true
}

// convertBraces rewrites \frac{a}{b}, \sqrt{a}, \sqrt[n]{a} and groups {a}.
func convertBraces(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "\\frac"):
			num, rest, ok := group(s[i+5:])
			if !ok {
				return "", false
			}
			den, rest2, ok := group(rest)
			if !ok {
				return "", false
			}
			n, ok1 := convertBraces(num)
			d, ok2 := convertBraces(den)
			if !ok1 || !ok2 {
				return "", false
			}
			b.WriteString("((" + n + ")/(" + d + "))")
			i = len(s) - len(rest2)
		case strings.HasPrefix(s[i:], "\\sqrt"):
			rest := s[i+5:]
			index := ""
			if strings.HasPrefix(rest, "[") {
				end := strings.Index(rest, "]")
				if end < 0 {
					return "", false
				}
				index, rest = rest[1:end], rest[end+1:]
			}
			arg, rest2, ok := group(rest)
			if !ok {
				return "", false
			}
			a, ok := convertBraces(arg)
			if !ok {
				return "", false
			}
			if index != "" {
				b.WriteString("((" + a + ")**(1/(" + index + ")))")
			} else {
				b.WriteString("sqrt(" + a + ")")
			}
			i = len(s) - len(rest2)
		case s[i] == '\\':
			return "", false
		case s[i] == '{':
			inner, rest, ok := group(s[i:])
			if !ok {
				return "", false
			}
			in, ok := convertBraces(inner)
			if !ok {
				return "", false
			}
			b.WriteString("(" + in + ")")
			i = len(s) - len(rest)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), true
}

// group reads a {…} group (or one character) at the start of s and returns
// its content and the rest.
func group(s string) (inner, rest string, ok bool) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return "", "", false
	}
	if s[0] != '{' {
		return s[:1], s[1:], true
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}
