package curate

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ToSympy translates a LaTeX answer into sympy's Python syntax, for the
// sympy fallback: sympy's own parse_latex needs the antlr runtime, which the
// sandbox does not have. Expressions hintfleet's parser reads are written
// from its syntax tree (Rational, Symbol, Sum, floor, asin, …); structures
// become Tuple, FiniteSet, Interval, Union, Eq, Lt/Le/Gt/Ge/Ne and Matrix.
// An expression the parser cannot read is rewritten textually (\frac{a}{b}
// to ((a)/(b)), commands to names, braces to parentheses) for sympy's
// parse_expr with implicit multiplication.
func ToSympy(latex string) (string, error) {
	return toSympyValue(parseAnswer(Normalize(latex)))
}

func toSympyValue(v value) (string, error) {
	switch v.kind {
	case 'e':
		e, _, err := parseExpr(v.src)
		if err != nil {
			return textualSympy(v.src)
		}
		return exprSympy(e), nil
	case 'q':
		l, err := toSympyValue(v.items[0])
		if err != nil {
			return "", err
		}
		r, err := toSympyValue(v.items[1])
		if err != nil {
			return "", err
		}
		return "Eq(" + l + ", " + r + ", evaluate=False)", nil
	case 'r':
		var parts []string
		for i, op := range v.ops {
			l, err := toSympyValue(v.items[i])
			if err != nil {
				return "", err
			}
			r, err := toSympyValue(v.items[i+1])
			if err != nil {
				return "", err
			}
			f := map[string]string{"<": "Lt", "<=": "Le", ">": "Gt", ">=": "Ge", "!=": "Ne"}[op]
			parts = append(parts, f+"("+l+", "+r+")")
		}
		if len(parts) == 1 {
			return parts[0], nil
		}
		return "And(" + strings.Join(parts, ", ") + ")", nil
	}
	items := make([]string, len(v.items))
	for i, it := range v.items {
		s, err := toSympyValue(it)
		if err != nil {
			return "", err
		}
		items[i] = s
	}
	list := strings.Join(items, ", ")
	switch {
	case v.kind == 'm':
		return "Matrix([" + list + "])", nil
	case v.kind == 'l' && v.open == '[' && v.close == ']' && v.items != nil && len(items) != 2:
		return "[" + list + "]", nil // a matrix row
	case v.kind == 'l' && len(items) == 2 && (v.open == '[' || v.close == ']'):
		return fmt.Sprintf("Interval(%s, %s, %s, %s)", items[0], items[1], pyBool(v.open == '('), pyBool(v.close == ')')), nil
	case v.kind == 'l':
		return "Tuple(" + list + ")", nil
	case v.kind == 's' && v.union:
		return "Union(" + list + ")", nil
	}
	return "FiniteSet(" + list + ")", nil
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// sympyFuncs maps the parser's function names to sympy's.
var sympyFuncs = map[string]string{
	"sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc",
	"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arccot": "acot", "arcsec": "asec", "arccsc": "acsc",
	"sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "ln": "log", "log": "log", "exp": "exp", "abs": "Abs",
	"floor": "floor", "ceil": "ceiling",
}

func exprSympy(e expr) string {
	switch e := e.(type) {
	case numExpr:
		switch {
		case e.exact != nil && e.decimal:
			return "Float(" + strconv.Quote(e.exact.FloatString(30)) + ", 30)"
		case e.exact != nil:
			return "Rational(" + strconv.Quote(e.exact.RatString()) + ")"
		case e.v == 1i:
			return "I"
		case real(e.v) == math.Pi:
			return "pi"
		case real(e.v) == math.E:
			return "E"
		case math.IsInf(real(e.v), 1):
			return "oo"
		}
		return strconv.FormatFloat(real(e.v), 'g', -1, 64)
	case varExpr:
		name, _ := json.Marshal(e.name)
		return "Symbol(" + string(name) + ")"
	case negExpr:
		return "(-" + exprSympy(e.x) + ")"
	case binExpr:
		op := string(e.op)
		if e.op == '^' {
			op = "**"
		}
		return "(" + exprSympy(e.l) + op + exprSympy(e.r) + ")"
	case funcExpr:
		if e.name == "lg" {
			return "log(" + exprSympy(e.x) + ", 10)"
		}
		return sympyFuncs[e.name] + "(" + exprSympy(e.x) + ")"
	case factExpr:
		return "factorial(" + exprSympy(e.x) + ")"
	case rootExpr:
		return "root(" + exprSympy(e.x) + ", " + exprSympy(e.n) + ")"
	case sumExpr:
		f := "Sum"
		if e.op == 'P' {
			f = "Product"
		}
		idx, _ := json.Marshal(e.idx)
		return fmt.Sprintf("%s(%s, (Symbol(%s), %s, %s)).doit()", f, exprSympy(e.body), idx, exprSympy(e.lo), exprSympy(e.hi))
	}
	return "nan"
}

var (
	reTexFrac   = regexp.MustCompile(`\\frac\{([^{}]*)\}\{([^{}]*)\}`)
	reTexSqrtN  = regexp.MustCompile(`\\sqrt\[([^\]]*)\]\{([^{}]*)\}`)
	reTexSqrt   = regexp.MustCompile(`\\sqrt\{([^{}]*)\}`)
	reTexCmd    = regexp.MustCompile(`\\([a-zA-Z]+)`)
	reSafeSympy = regexp.MustCompile(`^[A-Za-z0-9_+\-*/^()., ]*$`)
)

// textualSympy rewrites LaTeX the parser cannot read into text for sympy's
// parse_expr: \gcd(12, 18) becomes gcd(12, 18). The result holds only
// names, numbers, operators and brackets; anything else is an error.
func textualSympy(s string) (string, error) {
	for range 8 {
		t := reTexFrac.ReplaceAllString(s, "(($1)/($2))")
		t = reTexSqrtN.ReplaceAllString(t, "(($2)**(1/($1)))")
		t = reTexSqrt.ReplaceAllString(t, "sqrt($1)")
		if t == s {
			break
		}
		s = t
	}
	s = strings.NewReplacer(`\cdot`, "*", `\times`, "*", `\div`, "/", `\pi`, "pi", `\infty`, "oo", "{", "(", "}", ")",
		`\operatorname`, "", `\mathrm`, "", `\ln`, "log", `\arcsin`, "asin", `\arccos`, "acos", `\arctan`, "atan").Replace(s)
	s = reTexCmd.ReplaceAllString(s, "$1")
	if !reSafeSympy.MatchString(s) {
		return "", fmt.Errorf("cannot translate %q", s)
	}
	return "parse(" + strconv.Quote(s) + ")", nil
}
