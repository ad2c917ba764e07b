package curate

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"sort"
	"strings"
)

// compareValues compares two parsed answers; ok is false when either side
// could not be evaluated, so that a symbolic fallback may decide.
func compareValues(a, r value, tol float64) (eq bool, method, detail string, ok bool) {
	if a.kind != r.kind {
		return compareShapes(a, r, tol)
	}
	switch a.kind {
	case 'e':
		return compareExprs(a.src, r.src, tol)
	case 'q':
		return compareEquations(a, r, tol)
	case 'r':
		return compareRelations(a, r, tol)
	case 'l', 'm':
		if a.open != r.open || a.close != r.close {
			return false, MethodList, "different brackets", true
		}
		return compareOrdered(a.items, r.items, tol)
	case 's':
		if a.union != r.union || allRelations(a) != allRelations(r) {
			return compareShapes(a, r, tol)
		}
		return compareUnordered(a.items, r.items, tol)
	}
	return false, "", "", false
}

// compareShapes compares answers of different kinds where one can stand for
// the other: a one-element set for its element, an assignment x = 5 for 5
// (never an equation whose left side is an expression), a named tuple for
// its tuple, a relation for the interval it defines, a bare list for a tuple.
func compareShapes(a, r value, tol float64) (bool, string, string, bool) {
	switch {
	case a.kind == 's' && len(a.items) == 1 && !a.union:
		return compareValues(a.items[0], r, tol)
	case r.kind == 's' && len(r.items) == 1 && !r.union:
		return compareValues(a, r.items[0], tol)
	case sameForms(a, tol):
		// "\boxed{15\frac{39}{40}}, or \boxed{\frac{639}{40}}": one answer in two forms.
		return compareValues(a.items[0], r, tol)
	case sameForms(r, tol):
		return compareValues(a, r.items[0], tol)
	case a.kind == 'q' || r.kind == 'q':
		q, o := a, r
		if r.kind == 'q' {
			q, o = r, a
		}
		if !isAssignment(q) {
			return false, MethodEquation, "an equation is not a value", true
		}
		if o.kind == 's' && !o.union && allAssignments(o) {
			return false, MethodEquation, "different number of assignments", true
		}
		eq, m, d, ok := compareValues(q.items[1], o, tol)
		if m == "" {
			m = MethodEquation
		}
		return eq, m, d, ok
	case a.kind == 's' && allAssignments(a) || r.kind == 's' && allAssignments(r):
		s, o := a, r
		if !(a.kind == 's' && allAssignments(a)) {
			s, o = r, a
		}
		rhs := make([]value, len(s.items))
		for i, it := range s.items {
			rhs[i] = it.items[1]
		}
		if o.kind == 'l' && o.open == '(' {
			return compareOrdered(rhs, o.items, tol)
		}
		if o.kind == 's' {
			return compareUnordered(rhs, o.items, tol)
		}
	case a.kind == 'r' || r.kind == 'r':
		return compareRelationSet(a, r, tol)
	case a.kind == 'l' && r.kind == 's' && r.open == 0 && !r.union:
		return compareOrdered(a.items, r.items, tol)
	case r.kind == 'l' && a.kind == 's' && a.open == 0 && !a.union:
		return compareOrdered(a.items, r.items, tol)
	case a.kind == 's' && (a.union || allRelations(a)) || r.kind == 's' && (r.union || allRelations(r)):
		return compareRelationSet(a, r, tol)
	}
	_, aerr := evalAll(a)
	_, rerr := evalAll(r)
	return false, MethodList, "different shapes", aerr == nil && rerr == nil
}

// sameForms reports whether v is a bare list whose items are all equal,
// one answer written in several forms.
func sameForms(v value, tol float64) bool {
	if v.kind != 's' || v.open != 0 || v.union || len(v.items) < 2 {
		return false
	}
	for _, it := range v.items[1:] {
		if eq, _, _, ok := compareValues(v.items[0], it, tol); !ok || !eq {
			return false
		}
	}
	return true
}

func allAssignments(v value) bool {
	for _, it := range v.items {
		if !isAssignment(it) {
			return false
		}
	}
	return len(v.items) > 0
}

func compareOrdered(a, r []value, tol float64) (bool, string, string, bool) {
	if len(a) != len(r) {
		return false, MethodList, "different lengths", true
	}
	for i := range a {
		eq, _, detail, ok := compareValues(a[i], r[i], tol)
		if !ok || !eq {
			return false, MethodList, detail, ok
		}
	}
	return true, MethodList, "", true
}

func compareUnordered(a, r []value, tol float64) (bool, string, string, bool) {
	if len(a) != len(r) {
		return false, MethodList, "different sizes", true
	}
	used := make([]bool, len(r))
	decided := true
next:
	for _, x := range a {
		for j, y := range r {
			if used[j] {
				continue
			}
			eq, _, _, ok := compareValues(x, y, tol)
			if ok && eq {
				used[j] = true
				continue next
			}
			decided = decided && ok
		}
		return false, MethodList, "no match for " + x.src, decided
	}
	return true, MethodList, "", true
}

func evalAll(v value) (int, error) {
	if v.kind == 'e' {
		_, _, err := parseExpr(v.src)
		return 1, err
	}
	n := 0
	for _, it := range v.items {
		k, err := evalAll(it)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// numSamples is how many points expressions with variables are compared
// at; the points are fixed so that grading is deterministic.
const numSamples = 6

// sampleValue returns the value of variable name at sample point i: a
// pseudo-random real in [0.5, 3] (or an integer in [2, 9]) fixed by the name.
func sampleValue(name string, i int, integer bool) float64 {
	h := uint64(14695981039346656037)
	for j := 0; j < len(name); j++ {
		h = (h ^ uint64(name[j])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(h, uint64(i)*7919+2503))
	if integer {
		return float64(2 + rng.IntN(8))
	}
	return 0.5 + 2.5*rng.Float64()
}

func compareExprs(a, r string, tol float64) (bool, string, string, bool) {
	ea, va, err := parseExpr(a)
	if err != nil {
		return false, "", "answer: " + err.Error(), false
	}
	er, vr, err := parseExpr(r)
	if err != nil {
		return false, "", "reference: " + err.Error(), false
	}
	if len(va)+len(vr) == 0 && !hasDecimal(ea) && !hasDecimal(er) {
		if x, ok := exact(ea); ok {
			if y, ok := exact(er); ok {
				return x.Cmp(y) == 0, MethodNumeric, "exact", true
			}
		}
	}
	method := MethodNumeric
	if len(va)+len(vr) > 0 {
		method = MethodIdentity
	}
	infinite := strings.Contains(a, `\infty`) || strings.Contains(r, `\infty`)
	for _, integer := range []bool{false, true} {
		eq, detail, ok, retry := comparePoints(ea, er, points(integer, va, vr), tol, infinite)
		if retry {
			continue
		}
		if eq && !integer && !agreeWhereReal(ea, er, va, vr, tol) {
			return false, method, "values differ at negative points", true
		}
		return eq, method, detail, ok
	}
	return false, method, "cannot evaluate", false
}

// agreeWhereReal checks expressions that agree at the positive sample
// points also at points with negative coordinates, wherever both are real
// there: x and |x| agree for x > 0 only, while \ln(xy) and \ln x + \ln y
// leave the reals together and are not told apart.
func agreeWhereReal(ea, er expr, va, vr map[string]bool, tol float64) bool {
	if len(va)+len(vr) == 0 {
		return true
	}
	for _, pt := range softPoints(va, vr) {
		x, err1 := ea.eval(pt)
		y, err2 := er.eval(pt)
		if err1 != nil || err2 != nil || isHuge(x) || isHuge(y) ||
			math.Abs(imag(x)) > 1e-12 || math.Abs(imag(y)) > 1e-12 {
			continue
		}
		if !approxEqual(x, y, tol) {
			return false
		}
	}
	return true
}

// softPoints are the sample points with every coordinate negated, and with
// every other one negated.
func softPoints(vars ...map[string]bool) []map[string]complex128 {
	base := points(false, vars...)
	var out []map[string]complex128
	for k := range 2 {
		for i := range 2 {
			names := make([]string, 0, len(base[i]))
			for name := range base[i] {
				names = append(names, name)
			}
			sort.Strings(names) // deterministic: which coordinates flip
			pt := map[string]complex128{}
			for j, name := range names {
				v := base[i][name]
				if k == 0 || j%2 == 0 {
					v = -v
				}
				pt[name] = v
			}
			out = append(out, pt)
		}
	}
	return out
}

// comparePoints evaluates both expressions at every point; retry is true
// when a value had to be an integer and was not.
func comparePoints(ea, er expr, pts []map[string]complex128, tol float64, infinite bool) (eq bool, detail string, ok, retry bool) {
	for _, pt := range pts {
		x, err1 := ea.eval(pt)
		y, err2 := er.eval(pt)
		if err1 != nil || err2 != nil {
			if isNotInteger(err1) || isNotInteger(err2) {
				return false, "", false, true
			}
			return false, "cannot evaluate", false, false
		}
		if !infinite && (isHuge(x) || isHuge(y)) {
			// 2^{5000} and 2^{5001} are both +Inf as floats: not a verdict.
			return false, "too large to compare as floats", false, false
		}
		if !approxEqual(x, y, tol) {
			return false, "values differ", true, false
		}
	}
	return true, "", true, false
}

func isNotInteger(err error) bool {
	return err != nil && strings.Contains(err.Error(), errNotInteger.Error())
}

func isHuge(x complex128) bool {
	return cmplx.IsInf(x) || cmplx.IsNaN(x) || cmplx.Abs(x) > 1e300
}

func points(integer bool, vars ...map[string]bool) []map[string]complex128 {
	var names []string
	for _, vs := range vars {
		for n := range vs {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	n := numSamples
	if len(names) == 0 {
		n = 1
	}
	out := make([]map[string]complex128, n)
	for i := range out {
		out[i] = map[string]complex128{}
		for _, name := range names {
			out[i][name] = complex(sampleValue(name, i, integer), 0)
		}
	}
	return out
}

// compareEquations compares two equations. Assignments of the same lone
// variable compare their right sides as values (x = \pm 2 and x = 2, -2);
// otherwise both must define the same set, checked as lhs - rhs of one
// being a constant non-zero multiple of the other's: "5x - 7y + 11z + 4 = 0"
// is the plane "-10x + 14y - 22z - 8 = 0", and 2x + 4y - 3 = 0 is the line
// y = -\frac{1}{2}x + \frac{3}{4}.
func compareEquations(a, r value, tol float64) (bool, string, string, bool) {
	if isAssignment(a) && isAssignment(r) && (a.items[1].kind != 'e' || r.items[1].kind != 'e') {
		if squash(a.items[0].src) != squash(r.items[0].src) {
			return false, MethodEquation, "different variables", true
		}
		eq, _, d, ok := compareValues(a.items[1], r.items[1], tol)
		return eq, MethodEquation, d, ok
	}
	if a.items[0].kind != 'e' || r.items[0].kind != 'e' || a.items[1].kind != 'e' || r.items[1].kind != 'e' {
		return false, MethodEquation, "different shapes", true
	}
	var diffs [2]expr
	vars := map[string]bool{}
	for i, q := range []value{a, r} {
		d, vs, err := difference(q.items[0].src, q.items[1].src)
		if err != nil {
			return false, "", err.Error(), false
		}
		for k := range vs {
			vars[k] = true
		}
		diffs[i] = d
	}
	ok, err := proportional(diffs[0], diffs[1], vars, tol, false)
	if err != nil {
		return false, MethodEquation, err.Error(), false
	}
	if !ok {
		return false, MethodEquation, "not proportional", true
	}
	return true, MethodEquation, "", true
}

// difference parses l and r and returns l - r and its variables.
func difference(l, r string) (expr, map[string]bool, error) {
	le, lv, err := parseExpr(l)
	if err != nil {
		return nil, nil, err
	}
	re, rv, err := parseExpr(r)
	if err != nil {
		return nil, nil, err
	}
	for k := range rv {
		lv[k] = true
	}
	return binExpr{op: '-', l: le, r: re}, lv, nil
}

// proportional reports whether x = c·y for one constant c != 0 at every
// sample point (c > 0 when positive is set: inequalities keep direction).
func proportional(x, y expr, vars map[string]bool, tol float64, positive bool) (bool, error) {
	var ratio complex128
	for _, pt := range points(false, vars) {
		u, err1 := x.eval(pt)
		v, err2 := y.eval(pt)
		if err1 != nil {
			return false, err1
		}
		if err2 != nil {
			return false, err2
		}
		if cmplx.Abs(u) < 1e-12 || cmplx.Abs(v) < 1e-12 {
			if !(cmplx.Abs(u) < 1e-12 && cmplx.Abs(v) < 1e-12) {
				return false, nil
			}
			continue
		}
		if ratio == 0 {
			ratio = u / v
			if positive && (real(ratio) <= 0 || math.Abs(imag(ratio)) > 1e-9) {
				return false, nil
			}
		} else if !approxEqual(u/v, ratio, tol) {
			return false, nil
		}
	}
	return ratio != 0 || len(vars) == 0, nil
}

func approxEqual(x, y complex128, tol float64) bool {
	if cmplx.IsInf(x) || cmplx.IsInf(y) {
		return cmplx.IsInf(x) && cmplx.IsInf(y) && math.Signbit(real(x)) == math.Signbit(real(y))
	}
	if cmplx.IsNaN(x) || cmplx.IsNaN(y) {
		return false
	}
	d := cmplx.Abs(x - y)
	return d <= 1e-9 || d <= tol*math.Max(cmplx.Abs(x), cmplx.Abs(y))
}
