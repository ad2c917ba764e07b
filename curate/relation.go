package curate

import (
	"math"
	"sort"
)

// interval is one real interval with its ends' closedness.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

// compareRelations compares two relations: both turned into the sets of
// one variable they define (x \le 5 and 5 \ge x are (-\infty, 5]; -793 < a <
// 10 is (-793, 10)), or, with several variables, each written h < 0 or
// h \le 0 and the two h a positive multiple of each other (x < 1 and -x >
// -1).
func compareRelations(a, r value, tol float64) (bool, string, string, bool) {
	ia, okA := relationIntervals(a)
	ir, okR := relationIntervals(r)
	if okA && okR {
		return sameIntervals(ia, ir, tol), MethodRelation, "", true
	}
	if len(a.ops) != len(r.ops) {
		return false, MethodRelation, "different relations", true
	}
	for i := range a.ops {
		ha, sa := normalRelation(a.items[i].src, a.ops[i], a.items[i+1].src)
		hr, sr := normalRelation(r.items[i].src, r.ops[i], r.items[i+1].src)
		if sa != sr || sa == "" {
			return false, MethodRelation, "different relations", sa != "" && sr != ""
		}
		x, vx, err := difference(ha[0], ha[1])
		if err != nil {
			return false, "", err.Error(), false
		}
		y, vy, err := difference(hr[0], hr[1])
		if err != nil {
			return false, "", err.Error(), false
		}
		for k := range vy {
			vx[k] = true
		}
		ok, err := proportional(x, y, vx, tol, sa != "!=")
		if err != nil {
			return false, MethodRelation, err.Error(), false
		}
		if !ok {
			return false, MethodRelation, "different relations", true
		}
	}
	return true, MethodRelation, "", true
}

// normalRelation writes l op r as h op' 0 with op' one of <, <=, !=: the
// two sides whose difference is h, and op'.
func normalRelation(l, op, r string) ([2]string, string) {
	switch op {
	case "<", "<=", "!=":
		return [2]string{l, r}, op
	case ">":
		return [2]string{r, l}, "<"
	case ">=":
		return [2]string{r, l}, "<="
	}
	return [2]string{}, ""
}

// compareRelationSet compares a relation with an interval or a union of
// intervals, or two such sets.
func compareRelationSet(a, r value, tol float64) (bool, string, string, bool) {
	ia, okA := setIntervals(a)
	ir, okR := setIntervals(r)
	if !okA || !okR {
		return false, MethodRelation, "not intervals", false
	}
	return sameIntervals(ia, ir, tol), MethodRelation, "", true
}

func setIntervals(v value) ([]interval, bool) {
	switch {
	case v.kind == 'r':
		return relationIntervals(v)
	case v.kind == 'l' && len(v.items) == 2 && v.open != '{':
		lo, ok1 := realValue(v.items[0])
		hi, ok2 := realValue(v.items[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		return []interval{{lo, hi, v.open == '(', v.close == ')'}}, true
	case v.kind == 's' && (v.union || allRelations(v)):
		// A union, or alternatives "x < -1 or x > 3" written as a list.
		var out []interval
		for _, it := range v.items {
			iv, ok := setIntervals(it)
			if !ok {
				return nil, false
			}
			out = append(out, iv...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
		return out, true
	}
	return nil, false
}

func realValue(v value) (float64, bool) {
	if v.kind != 'e' {
		return 0, false
	}
	e, vars, err := parseExpr(v.src)
	if err != nil || len(vars) > 0 {
		return 0, false
	}
	x, err := e.eval(nil)
	if err != nil || math.Abs(imag(x)) > 1e-12 {
		return 0, false
	}
	return real(x), true
}

// relationIntervals turns a relation in one variable, linear in it, into
// the intervals it defines; false when it has another shape.
func relationIntervals(v value) ([]interval, bool) {
	if v.kind != 'r' {
		return nil, false
	}
	full := []interval{{math.Inf(-1), math.Inf(1), true, true}}
	name := ""
	for i, op := range v.ops {
		h, nop := normalRelation(v.items[i].src, op, v.items[i+1].src)
		d, vars, err := difference(h[0], h[1])
		if err != nil || len(vars) != 1 {
			return nil, false
		}
		for k := range vars {
			if name != "" && k != name {
				return nil, false
			}
			name = k
		}
		// d(x) = s·x + c, checked at three points.
		var at [3]float64
		for j := range at {
			y, err := d.eval(map[string]complex128{name: complex(float64(j), 0)})
			if err != nil || math.Abs(imag(y)) > 1e-12 {
				return nil, false
			}
			at[j] = real(y)
		}
		s, c := at[1]-at[0], at[0]
		if s == 0 || !approxEqual(complex(at[2]-at[1], 0), complex(s, 0), 1e-9) {
			return nil, false
		}
		root := -c / s
		var part []interval
		switch {
		case nop == "!=":
			part = []interval{{math.Inf(-1), root, true, true}, {root, math.Inf(1), true, true}}
		case s > 0: // x < root
			part = []interval{{math.Inf(-1), root, true, nop == "<"}}
		default: // x > root
			part = []interval{{root, math.Inf(1), nop == "<", true}}
		}
		full = intersect(full, part)
	}
	return full, name != ""
}

// intersect intersects two sorted lists of intervals.
func intersect(a, b []interval) []interval {
	var out []interval
	for _, x := range a {
		for _, y := range b {
			iv := x
			if y.lo > iv.lo || y.lo == iv.lo && y.loOpen {
				iv.lo, iv.loOpen = y.lo, y.loOpen
			}
			if y.hi < iv.hi || y.hi == iv.hi && y.hiOpen {
				iv.hi, iv.hiOpen = y.hi, y.hiOpen
			}
			if iv.lo < iv.hi || iv.lo == iv.hi && !iv.loOpen && !iv.hiOpen {
				out = append(out, iv)
			}
		}
	}
	return out
}

// sameIntervals compares interval lists in order; an infinite end counts
// as open however it is bracketed.
func sameIntervals(a, b []interval, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !approxEqual(complex(x.lo, 0), complex(y.lo, 0), tol) || !approxEqual(complex(x.hi, 0), complex(y.hi, 0), tol) {
			return false
		}
		if !math.IsInf(x.lo, 0) && x.loOpen != y.loOpen || !math.IsInf(x.hi, 0) && x.hiOpen != y.hiOpen {
			return false
		}
	}
	return true
}

func allRelations(v value) bool {
	for _, it := range v.items {
		if it.kind != 'r' {
			return false
		}
	}
	return len(v.items) > 1
}
