package curate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/cmplx"
)

// expr is a parsed arithmetic expression over complex numbers and
// single-letter variables. Answers are compared by evaluating both sides at
// the same points: numbers directly, expressions with variables at several
// random points (polynomial identity testing, in the spirit of Schwartz–Zippel).
type expr interface {
	eval(env map[string]complex128) (complex128, error)
}

type (
	// numExpr is a number; exact holds a literal's exact value (nil for
	// constants such as pi), decimal marks literals written with a point.
	numExpr struct {
		v       complex128
		exact   *big.Rat
		decimal bool
	}
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
	// sumExpr is \sum (op 'S') or \prod (op 'P') of body over idx from lo
	// to hi, bounds that must evaluate to integers.
	sumExpr struct {
		op     byte
		idx    string
		lo, hi expr
		body   expr
	}
)

// errNotInteger marks a value that had to be an integer (a sum's bound) and
// was not, so that the caller can retry at integer points.
var errNotInteger = errors.New("not an integer")

// maxSumTerms bounds the terms one sum or product adds up.
const maxSumTerms = 100_000

func (e sumExpr) eval(env map[string]complex128) (complex128, error) {
	lo, err := e.lo.eval(env)
	if err != nil {
		return 0, err
	}
	hi, err := e.hi.eval(env)
	if err != nil {
		return 0, err
	}
	a, ok1 := asInt(lo)
	b, ok2 := asInt(hi)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("bounds of a sum: %w", errNotInteger)
	}
	if b-a > maxSumTerms {
		return 0, errors.New("sum has too many terms")
	}
	acc := complex(0, 0)
	if e.op == 'P' {
		acc = 1
	}
	inner := make(map[string]complex128, len(env)+1)
	for k, v := range env {
		inner[k] = v
	}
	for k := a; k <= b; k++ {
		inner[e.idx] = complex(float64(k), 0)
		v, err := e.body.eval(inner)
		if err != nil {
			return 0, err
		}
		if e.op == 'P' {
			acc *= v
		} else {
			acc += v
		}
	}
	return acc, nil
}

func asInt(v complex128) (int64, bool) {
	r := math.Round(real(v))
	if imag(v) != 0 || math.Abs(real(v)-r) > 1e-9 || math.Abs(r) > 1e12 {
		return 0, false
	}
	return int64(r), true
}

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
	case "arccot":
		return cmplx.Atan(1 / v), nil
	case "arcsec":
		return cmplx.Acos(1 / v), nil
	case "arccsc":
		return cmplx.Asin(1 / v), nil
	case "sinh":
		return cmplx.Sinh(v), nil
	case "cosh":
		return cmplx.Cosh(v), nil
	case "tanh":
		return cmplx.Tanh(v), nil
	case "ln", "log":
		return cmplx.Log(v), nil
	case "lg":
		return cmplx.Log10(v), nil
	case "exp":
		return cmplx.Exp(v), nil
	case "abs":
		return complex(cmplx.Abs(v), 0), nil
	case "floor", "ceil":
		if imag(v) != 0 {
			return 0, fmt.Errorf("%s of a complex number", e.name)
		}
		if e.name == "floor" {
			return complex(math.Floor(real(v)+1e-12), 0), nil
		}
		return complex(math.Ceil(real(v)-1e-12), 0), nil
	}
	return 0, fmt.Errorf("unknown function %q", e.name)
}

// eval takes n! as Gamma(n+1), so that factorials and binomials of a
// variable compare at the real sample points: \binom{n+1}{2} is n(n+1)/2.
func (e factExpr) eval(env map[string]complex128) (complex128, error) {
	v, err := e.x.eval(env)
	if err != nil {
		return 0, err
	}
	n := real(v)
	if imag(v) != 0 || n < 0 && n == math.Trunc(n) || n > 170 {
		return 0, errors.New("factorial out of range")
	}
	return complex(math.Gamma(n+1), 0), nil
}

// Exact evaluation. Answers such as 2^{100} or 20! exceed what a float64
// tells apart, so expressions made only of integer and decimal literals, + -
// * /, integer powers, factorials and binomials are also evaluated as exact
// rationals.
const (
	maxExactExponent = 4096
	maxExactBits     = 1 << 16
	maxExactFactor   = 2000
)

// exact returns e's exact rational value, or false when e has a variable, a
// constant such as pi, a root or a function, or the value would be huge.
func exact(e expr) (*big.Rat, bool) {
	switch e := e.(type) {
	case numExpr:
		if e.exact == nil {
			return nil, false
		}
		return e.exact, true
	case negExpr:
		x, ok := exact(e.x)
		if !ok {
			return nil, false
		}
		return new(big.Rat).Neg(x), true
	case factExpr:
		x, ok := exact(e.x)
		if !ok || !x.IsInt() || x.Sign() < 0 || x.Num().Cmp(big.NewInt(maxExactFactor)) > 0 {
			return nil, false
		}
		return new(big.Rat).SetInt(new(big.Int).MulRange(1, x.Num().Int64())), true
	case binExpr:
		l, ok := exact(e.l)
		if !ok {
			return nil, false
		}
		r, ok := exact(e.r)
		if !ok {
			return nil, false
		}
		switch e.op {
		case '+':
			return new(big.Rat).Add(l, r), true
		case '-':
			return new(big.Rat).Sub(l, r), true
		case '*':
			return new(big.Rat).Mul(l, r), true
		case '/':
			if r.Sign() == 0 {
				return nil, false
			}
			return new(big.Rat).Quo(l, r), true
		case '^':
			if !r.IsInt() || r.Num().CmpAbs(big.NewInt(maxExactExponent)) > 0 {
				return nil, false
			}
			n := r.Num().Int64()
			if n < 0 && l.Sign() == 0 {
				return nil, false
			}
			bits := int64(max(l.Num().BitLen(), l.Denom().BitLen()))
			if bits*abs64(n) > maxExactBits {
				return nil, false
			}
			num := new(big.Int).Exp(l.Num(), big.NewInt(abs64(n)), nil)
			den := new(big.Int).Exp(l.Denom(), big.NewInt(abs64(n)), nil)
			if n < 0 {
				num, den = den, num
			}
			return new(big.Rat).SetFrac(num, den), true
		}
	}
	return nil, false
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// hasDecimal reports whether e has a literal written with a decimal point:
// such an answer is compared within the tolerance, never exactly.
func hasDecimal(e expr) bool {
	switch e := e.(type) {
	case numExpr:
		return e.decimal
	case negExpr:
		return hasDecimal(e.x)
	case factExpr:
		return hasDecimal(e.x)
	case binExpr:
		return hasDecimal(e.l) || hasDecimal(e.r)
	case funcExpr:
		return hasDecimal(e.x)
	case rootExpr:
		return hasDecimal(e.n) || hasDecimal(e.x)
	case sumExpr:
		return hasDecimal(e.body) || hasDecimal(e.lo) || hasDecimal(e.hi)
	}
	return false
}
