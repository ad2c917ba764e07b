package curate

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"strconv"
	"strings"
	"unicode"
)

// expr is a parsed arithmetic expression over complex numbers and
// single-letter variables. Answers are compared by evaluating both sides at
// the same points: numbers directly, expressions with variables at several
// random points (polynomial identity testing, in the spirit of Schwartz–Zippel).
type expr interface {
	eval(env map[string]complex128) (complex128, error)
}

type (
	numExpr struct{ v complex128 }
	varExpr struct{ name string }
	negExpr struct{ x expr }
	binExpr struct {
		op   byte
		l, r expr
	}
	funcExpr struct {
		name string
		x    expr
	}
	factExpr struct{ x expr }
	rootExpr struct{ n, x expr }
)

// eval takes the real n-th root of a negative real where n is odd, as
// \sqrt[3]{-8} = -2 means; the principal complex root otherwise.
func (e rootExpr) eval(env map[string]complex128) (complex128, error) {
	n, err := e.n.eval(env)
	if err != nil {
		return 0, err
	}
	x, err := e.x.eval(env)
	if err != nil {
		return 0, err
	}
	if imag(n) == 0 && imag(x) == 0 && real(x) < 0 && math.Mod(real(n), 2) == 1 {
		return complex(-math.Pow(-real(x), 1/real(n)), 0), nil
	}
	if imag(x) == 0 && real(x) >= 0 && imag(n) == 0 {
		return complex(math.Pow(real(x), 1/real(n)), 0), nil
	}
	return cmplx.Pow(x, 1/n), nil
}

var errUnbound = errors.New("unbound variable")

func (e numExpr) eval(map[string]complex128) (complex128, error) { return e.v, nil }

func (e varExpr) eval(env map[string]complex128) (complex128, error) {
	v, ok := env[e.name]
	if !ok {
		return 0, fmt.Errorf("%w %q", errUnbound, e.name)
	}
	return v, nil
}

func (e negExpr) eval(env map[string]complex128) (complex128, error) {
	v, err := e.x.eval(env)
	if imag(v) == 0 {
		return complex(-real(v), 0), err // no -0i: sqrt(-1) must be i, not -i
	}
	return -v, err
}

func (e binExpr) eval(env map[string]complex128) (complex128, error) {
	l, err := e.l.eval(env)
	if err != nil {
		return 0, err
	}
	r, err := e.r.eval(env)
	if err != nil {
		return 0, err
	}
	switch e.op {
	case '+':
		return l + r, nil
	case '-':
		return l - r, nil
	case '*':
		return l * r, nil
	case '/':
		if r == 0 {
			return 0, errors.New("division by zero")
		}
		return l / r, nil
	case '^':
		// Real bases with real exponents stay real where they can (cube
		// roots of negatives), as a reader of a math answer expects.
		if imag(l) == 0 && imag(r) == 0 {
			if real(l) < 0 && real(r) != math.Trunc(real(r)) {
				return cmplx.Pow(l, r), nil
			}
			return complex(math.Pow(real(l), real(r)), 0), nil
		}
		return cmplx.Pow(l, r), nil
	}
	return 0, fmt.Errorf("unknown operator %q", e.op)
}

func (e funcExpr) eval(env map[string]complex128) (complex128, error) {
	v, err := e.x.eval(env)
	if err != nil {
		return 0, err
	}
	switch e.name {
	case "sqrt":
		if imag(v) == 0 && real(v) >= 0 {
			return complex(math.Sqrt(real(v)), 0), nil
		}
		return cmplx.Sqrt(v), nil
	case "sin":
		return cmplx.Sin(v), nil
	case "cos":
		return cmplx.Cos(v), nil
	case "tan":
		return cmplx.Tan(v), nil
	case "cot":
		return 1 / cmplx.Tan(v), nil
	case "sec":
		return 1 / cmplx.Cos(v), nil
	case "csc":
		return 1 / cmplx.Sin(v), nil
	case "arcsin":
		return cmplx.Asin(v), nil
	case "arccos":
		return cmplx.Acos(v), nil
	case "arctan":
		return cmplx.Atan(v), nil
	case "ln", "log":
		return cmplx.Log(v), nil
	case "exp":
		return cmplx.Exp(v), nil
	case "abs":
		return complex(cmplx.Abs(v), 0), nil
	}
	return 0, fmt.Errorf("unknown function %q", e.name)
}

func (e factExpr) eval(env map[string]complex128) (complex128, error) {
	v, err := e.x.eval(env)
	if err != nil {
		return 0, err
	}
	n := real(v)
	if imag(v) != 0 || n < 0 || n != math.Trunc(n) || n > 170 {
		return 0, errors.New("factorial of a non-natural number")
	}
	return complex(math.Gamma(n+1), 0), nil
}

// parser is a recursive-descent parser for the LaTeX that math answers use:
// + - * / ^, \frac, \sqrt, \cdot, \times, \div, \pi, implicit multiplication,
// functions, factorials, base-n numbers (204_5) and the imaginary unit i.
type parser struct {
	s    string
	pos  int
	vars map[string]bool
}

// parseExpr parses s as one arithmetic expression.
func parseExpr(s string) (expr, map[string]bool, error) {
	p := &parser{s: s, vars: map[string]bool{}}
	e, err := p.expr()
	if err != nil {
		return nil, nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.pos:], p.pos)
	}
	return e, p.vars, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch {
		case p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n':
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], `\,`), strings.HasPrefix(p.s[p.pos:], `\;`),
			strings.HasPrefix(p.s[p.pos:], `\!`), strings.HasPrefix(p.s[p.pos:], `\:`):
			p.pos += 2
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

// command reads a backslash command name at the current position without
// consuming it; "" when there is none.
func (p *parser) command() string {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '\\' {
		return ""
	}
	j := p.pos + 1
	for j < len(p.s) && unicode.IsLetter(rune(p.s[j])) {
		j++
	}
	return p.s[p.pos+1 : j]
}

func (p *parser) expr() (expr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return l, nil
		}
		p.pos++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: c, l: l, r: r}
	}
}

func (p *parser) term() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		var op byte
		switch {
		case c == '*':
			op = '*'
			p.pos++
		case c == '/':
			op = '/'
			p.pos++
		case c == '\\' && (p.command() == "cdot" || p.command() == "times"):
			op = '*'
			p.pos += 1 + len(p.command())
		case c == '\\' && p.command() == "div":
			op = '/'
			p.pos += 4
		case p.startsAtom():
			op = '*' // implicit multiplication: 2\sqrt3, 3x, (1+i)(2-i)
		default:
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: op, l: l, r: r}
	}
}

// startsAtom reports whether an atom (not an operator) begins here.
func (p *parser) startsAtom() bool {
	c := p.peek()
	switch {
	case c == 0:
		return false
	case c >= '0' && c <= '9', c == '.', c == '(', c == '{':
		return true
	case unicode.IsLetter(rune(c)):
		return true
	case c == '\\':
		switch p.command() {
		case "frac", "binom", "sqrt", "pi", "infty", "sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp",
			"arcsin", "arccos", "arctan", "theta", "alpha", "beta", "mathrm", "operatorname":
			return true
		}
	}
	return false
}

func (p *parser) unary() (expr, error) {
	switch p.peek() {
	case '-':
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return negExpr{x}, nil
	case '+':
		p.pos++
		return p.unary()
	}
	return p.power()
}

func (p *parser) power() (expr, error) {
	base, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if p.peek() != '^' {
		return base, nil
	}
	p.pos++
	var exp expr
	if p.peek() == '{' {
		exp, err = p.group('{', '}')
	} else if p.peek() == '-' {
		p.pos++
		var x expr
		x, err = p.power()
		exp = negExpr{x}
	} else {
		exp, err = p.single()
	}
	if err != nil {
		return nil, err
	}
	return binExpr{op: '^', l: base, r: exp}, nil
}

func (p *parser) postfix() (expr, error) {
	x, err := p.atom()
	if err != nil {
		return nil, err
	}
	for p.peek() == '!' {
		p.pos++
		x = factExpr{x}
	}
	return x, nil
}

func (p *parser) group(open, close byte) (expr, error) {
	if p.peek() != open {
		return nil, fmt.Errorf("want %q at offset %d", open, p.pos)
	}
	p.pos++
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek() != close {
		return nil, fmt.Errorf("want %q at offset %d", close, p.pos)
	}
	p.pos++
	return x, nil
}

// single reads the one-character argument LaTeX allows without braces:
// \frac12, \sqrt2, x^2.
func (p *parser) single() (expr, error) {
	c := p.peek()
	switch {
	case c >= '0' && c <= '9':
		p.pos++
		return numExpr{complex(float64(c-'0'), 0)}, nil
	case c == '{':
		return p.group('{', '}')
	case c == '\\':
		return p.atom()
	case unicode.IsLetter(rune(c)):
		p.pos++
		return p.letter(string(c)), nil
	}
	return nil, fmt.Errorf("want an argument at offset %d", p.pos)
}

func (p *parser) letter(name string) expr {
	switch name {
	case "i":
		return numExpr{1i}
	case "e":
		return numExpr{complex(math.E, 0)}
	}
	p.vars[name] = true
	return varExpr{name}
}

func (p *parser) atom() (expr, error) {
	c := p.peek()
	switch {
	case c == '(':
		return p.group('(', ')')
	case c == '{':
		return p.group('{', '}')
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	case unicode.IsLetter(rune(c)):
		p.pos++
		return p.letter(string(c)), nil
	case c == '\\':
		return p.macro()
	}
	if c == 0 {
		return nil, errors.New("unexpected end of expression")
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", c, p.pos)
}

func (p *parser) number() (expr, error) {
	start := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '.') {
		p.pos++
	}
	lit := p.s[start:p.pos]
	// Scientific notation: 1.5e-3, 2E5.
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		j := p.pos + 1
		if j < len(p.s) && (p.s[j] == '-' || p.s[j] == '+') {
			j++
		}
		k := j
		for k < len(p.s) && p.s[k] >= '0' && p.s[k] <= '9' {
			k++
		}
		if k > j {
			lit, p.pos = p.s[start:k], k
		}
	}
	// A base-n numeral, as in "204_5" or "1011_{2}".
	if p.pos < len(p.s) && p.s[p.pos] == '_' {
		p.pos++
		b, err := p.single()
		if err != nil {
			return nil, err
		}
		bv, err := b.eval(nil)
		if err != nil {
			return nil, fmt.Errorf("base of %s: %w", lit, err)
		}
		n, err := strconv.ParseInt(lit, int(real(bv)), 64)
		if err != nil {
			return nil, fmt.Errorf("base-%v numeral %s: %w", real(bv), lit, err)
		}
		return numExpr{complex(float64(n), 0)}, nil
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, fmt.Errorf("number %q: %w", lit, err)
	}
	return numExpr{complex(v, 0)}, nil
}

// funcArg reads a function's argument as LaTeX writes it without
// parentheses: \sin 2x is sin(2x), but \sin x \cos x is sin(x)·cos(x).
func (p *parser) funcArg() (expr, error) {
	if p.peek() == '(' {
		return p.power()
	}
	x, err := p.power()
	if err != nil {
		return nil, err
	}
	for p.startsAtom() && p.peek() != '(' && !isFunc(p.command()) {
		y, err := p.power()
		if err != nil {
			return nil, err
		}
		x = binExpr{op: '*', l: x, r: y}
	}
	return x, nil
}

func isFunc(name string) bool {
	switch name {
	case "sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp", "arcsin", "arccos", "arctan":
		return true
	}
	return false
}

func (p *parser) macro() (expr, error) {
	name := p.command()
	p.pos += 1 + len(name)
	switch name {
	case "frac", "dfrac", "tfrac":
		num, err := p.single()
		if err != nil {
			return nil, err
		}
		den, err := p.single()
		if err != nil {
			return nil, err
		}
		return binExpr{op: '/', l: num, r: den}, nil
	case "sqrt":
		if p.peek() == '[' {
			n, err := p.group('[', ']')
			if err != nil {
				return nil, err
			}
			x, err := p.single()
			if err != nil {
				return nil, err
			}
			return rootExpr{n: n, x: x}, nil
		}
		x, err := p.single()
		if err != nil {
			return nil, err
		}
		return funcExpr{"sqrt", x}, nil
	case "pi":
		return numExpr{complex(math.Pi, 0)}, nil
	case "infty":
		return numExpr{complex(math.Inf(1), 0)}, nil
	case "theta", "alpha", "beta":
		p.vars[name] = true
		return varExpr{name}, nil
	case "mathrm", "operatorname":
		// \mathrm{e} or \operatorname{lcm}: treat the braced name as the atom.
		return p.single()
	case "binom", "dbinom", "tbinom":
		n, err := p.single()
		if err != nil {
			return nil, err
		}
		k, err := p.single()
		if err != nil {
			return nil, err
		}
		// n! / (k! (n-k)!)
		return binExpr{op: '/', l: factExpr{n}, r: binExpr{op: '*', l: factExpr{k}, r: factExpr{binExpr{op: '-', l: n, r: k}}}}, nil
	case "sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp", "arcsin", "arccos", "arctan":
		var pw expr
		if p.peek() == '^' { // \sin^2 x
			p.pos++
			var err error
			if pw, err = p.single(); err != nil {
				return nil, err
			}
		}
		arg, err := p.funcArg()
		if err != nil {
			return nil, err
		}
		if pw != nil {
			return binExpr{op: '^', l: funcExpr{name, arg}, r: pw}, nil
		}
		return funcExpr{name, arg}, nil
	}
	return nil, fmt.Errorf(`unsupported command \%s`, name)
}
