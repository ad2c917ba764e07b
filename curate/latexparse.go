package curate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// parser is a recursive-descent parser for the LaTeX that math answers use:
// + - * / ^, \frac, \sqrt, \cdot, \times, \div, \pi, implicit multiplication,
// functions, factorials, base-n numbers (204_5) and the imaginary unit i.
type parser struct {
	s        string
	pos      int
	vars     map[string]bool
	absDepth int // inside |…|: a bar closes, it does not open
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
	case c == '|':
		return p.absDepth == 0
	case unicode.IsLetter(rune(c)):
		return true
	case c == '\\':
		name := p.command()
		return atomCommands[name] || isFunc(name) || greek[name]
	}
	return false
}

// atomCommands are the commands that begin an atom (functions and greek
// letters aside).
var atomCommands = map[string]bool{
	"frac": true, "dfrac": true, "tfrac": true, "cfrac": true, "binom": true, "dbinom": true, "tbinom": true,
	"sqrt": true, "pi": true, "infty": true, "mathrm": true, "operatorname": true, "lfloor": true, "lceil": true,
	"sum": true, "prod": true, "mathit": true,
}

// greek letters other than pi are variables.
var greek = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range strings.Fields("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa " +
		"lambda mu nu xi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma Phi Psi Omega") {
		m[g] = true
	}
	return m
}()

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
		return numExpr{v: complex(float64(c-'0'), 0), exact: big.NewRat(int64(c-'0'), 1)}, nil
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

// letter is a one-letter name: i and e are constants, other letters
// variables; a subscript makes a new name (a_1, x_{n+1}).
func (p *parser) letter(name string) expr {
	if sub, ok := p.subscript(); ok {
		name += "_" + sub
	} else {
		switch name {
		case "i":
			return numExpr{v: 1i}
		case "e":
			return numExpr{v: complex(math.E, 0)}
		}
	}
	p.vars[name] = true
	return varExpr{name}
}

// subscript reads "_1" or "_{n+1}" and returns its text without spaces.
func (p *parser) subscript() (string, bool) {
	if p.pos >= len(p.s) || p.s[p.pos] != '_' {
		return "", false
	}
	rest := p.s[p.pos+1:]
	if strings.HasPrefix(rest, "{") {
		arg, ok := braced(rest)
		if !ok {
			return "", false
		}
		p.pos += 1 + len(arg) + 2
		return squash(arg), true
	}
	if rest != "" && (unicode.IsLetter(rune(rest[0])) || rest[0] >= '0' && rest[0] <= '9') {
		p.pos += 2
		return rest[:1], true
	}
	return "", false
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
	case c == '|' && p.absDepth == 0:
		p.pos++
		p.absDepth++
		x, err := p.expr()
		p.absDepth--
		if err != nil {
			return nil, err
		}
		if p.peek() != '|' {
			return nil, fmt.Errorf("want '|' at offset %d", p.pos)
		}
		p.pos++
		return funcExpr{"abs", x}, nil
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
		return numExpr{v: complex(float64(n), 0), exact: new(big.Rat).SetInt64(n)}, nil
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, fmt.Errorf("number %q: %w", lit, err)
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		r = nil
	}
	return numExpr{v: complex(v, 0), exact: r, decimal: strings.ContainsAny(lit, ".eE")}, nil
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
	case "sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "lg", "exp", "arcsin", "arccos", "arctan",
		"arccot", "arcsec", "arccsc", "sinh", "cosh", "tanh":
		return true
	}
	return false
}

// inverse names the inverse of a trigonometric function, for \sin^{-1}.
var inverse = map[string]string{"sin": "arcsin", "cos": "arccos", "tan": "arctan", "cot": "arccot", "sec": "arcsec", "csc": "arccsc"}

func (p *parser) macro() (expr, error) {
	name := p.command()
	p.pos += 1 + len(name)
	switch {
	case name == "frac" || name == "dfrac" || name == "tfrac" || name == "cfrac":
		num, err := p.single()
		if err != nil {
			return nil, err
		}
		den, err := p.single()
		if err != nil {
			return nil, err
		}
		return binExpr{op: '/', l: num, r: den}, nil
	case name == "sqrt":
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
	case name == "pi":
		return numExpr{v: complex(math.Pi, 0)}, nil
	case name == "infty":
		return numExpr{v: complex(math.Inf(1), 0)}, nil
	case greek[name]:
		if sub, ok := p.subscript(); ok {
			name += "_" + sub
		}
		p.vars[name] = true
		return varExpr{name}, nil
	case name == "mathrm" || name == "operatorname" || name == "mathit":
		// \mathrm{e}, \operatorname{arcsinh}: the braced name is the atom.
		if p.peek() == '{' {
			if arg, ok := braced(p.s[p.pos:]); ok && isFunc(strings.TrimSpace(arg)) {
				p.pos += len(arg) + 2
				return p.function(strings.TrimSpace(arg))
			}
		}
		return p.single()
	case name == "binom" || name == "dbinom" || name == "tbinom":
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
	case name == "lfloor" || name == "lceil":
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		closer := "rfloor"
		if name == "lceil" {
			closer = "rceil"
		}
		if p.command() != closer {
			return nil, fmt.Errorf(`want \%s at offset %d`, closer, p.pos)
		}
		p.pos += 1 + len(closer)
		return funcExpr{strings.TrimPrefix(name, "l"), x}, nil
	case name == "sum" || name == "prod":
		return p.bigOp(name)
	case isFunc(name):
		return p.function(name)
	}
	return nil, fmt.Errorf(`unsupported command \%s`, name)
}

// function reads a function's optional power or base and its argument:
// \sin^2 x, \sin^{-1} x (the inverse), \log_2 8, \ln(x+1).
func (p *parser) function(name string) (expr, error) {
	var base expr
	if name == "log" && p.peek() == '_' {
		p.pos++
		var err error
		if base, err = p.single(); err != nil {
			return nil, err
		}
	}
	var pw expr
	if p.peek() == '^' {
		p.pos++
		var err error
		if pw, err = p.single(); err != nil {
			return nil, err
		}
		if v, err := pw.eval(nil); err == nil && v == -1 && inverse[name] != "" {
			name, pw = inverse[name], nil
		}
	}
	arg, err := p.funcArg()
	if err != nil {
		return nil, err
	}
	var f expr = funcExpr{name, arg}
	if base != nil {
		f = binExpr{op: '/', l: funcExpr{"ln", arg}, r: funcExpr{"ln", base}}
	}
	if pw != nil {
		return binExpr{op: '^', l: f, r: pw}, nil
	}
	return f, nil
}

// bigOp reads \sum_{k=1}^{n} body or \prod; the body is a product of
// powers, as \sum_{k=1}^{n} 2k reads.
func (p *parser) bigOp(name string) (expr, error) {
	if p.peek() != '_' {
		return nil, fmt.Errorf(`\%s without a lower bound at offset %d`, name, p.pos)
	}
	p.pos++
	if p.peek() != '{' {
		return nil, fmt.Errorf(`\%s: want {k=…} at offset %d`, name, p.pos)
	}
	arg, ok := braced(p.s[p.pos:])
	if !ok {
		return nil, fmt.Errorf(`\%s: unbalanced bound`, name)
	}
	p.pos += len(arg) + 2
	idx, lo, ok := strings.Cut(arg, "=")
	idx = strings.TrimSpace(idx)
	if !ok || len(idx) != 1 || !unicode.IsLetter(rune(idx[0])) {
		return nil, fmt.Errorf(`\%s: want a one-letter index, got %q`, name, arg)
	}
	had := p.vars[idx]
	loExpr, _, err := parseExpr(lo)
	if err != nil {
		return nil, err
	}
	if p.peek() != '^' {
		return nil, fmt.Errorf(`\%s without an upper bound at offset %d`, name, p.pos)
	}
	p.pos++
	hi, err := p.single()
	if err != nil {
		return nil, err
	}
	body, err := p.funcArg()
	if err != nil {
		return nil, err
	}
	if !had {
		delete(p.vars, idx)
	}
	op := byte('S')
	if name == "prod" {
		op = 'P'
	}
	return sumExpr{op: op, idx: idx, lo: loExpr, hi: hi, body: body}, nil
}
