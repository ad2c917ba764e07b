package curate

import (
	"context"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
)

// Verdict is the outcome of comparing an answer with a reference, and how it
// was decided, so that a surprising grade can be audited.
type Verdict struct {
	Equal     bool   `json:"equal"`
	Method    string `json:"method"`
	Answer    string `json:"answer_normalized"`
	Reference string `json:"reference_normalized"`
	Detail    string `json:"detail,omitempty"`
}

// Methods a Verdict names.
const (
	MethodEmpty    = "empty"    // one side is empty
	MethodString   = "string"   // equal after normalisation
	MethodChoice   = "choice"   // multiple-choice letters
	MethodNumeric  = "numeric"  // both evaluate to the same number
	MethodIdentity = "identity" // expressions with variables agree at random points
	MethodEquation = "equation" // equations whose sides differ by a constant factor
	MethodList     = "list"     // tuples, intervals, sets, matrices, element by element
	MethodSymbolic = "sympy"    // decided by sympy in the sandbox
	MethodMismatch = "mismatch" // none of the above found them equal
)

// Symbolic decides equivalence where hintfleet's own parser cannot, by running
// sympy inside the python plugin's sandbox (never in the host process).
type Symbolic interface {
	Equivalent(ctx context.Context, answer, reference string) (bool, error)
}

// MathGrader compares math answers. The zero value is ready to use and never
// leaves the process; set Symbolic to fall back on sympy.
type MathGrader struct {
	Symbolic Symbolic
	// RelTol is the relative tolerance for numbers; 0 means DefaultRelTol.
	RelTol float64
}

// DefaultRelTol is tight enough that 0.333 is not 1/3, loose enough for
// float rounding of exact answers.
const DefaultRelTol = 1e-6

// Grade compares answer with reference.
func (g *MathGrader) Grade(ctx context.Context, answer, reference string) Verdict {
	a, r := Normalize(answer), Normalize(reference)
	v := Verdict{Answer: a, Reference: r}
	switch {
	case a == "" || r == "":
		v.Method = MethodEmpty
		return v
	case squash(a) == squash(r):
		v.Equal, v.Method = true, MethodString
		return v
	}
	// Word answers ("\text{Evelyn}", "\text{east}") are compared as words,
	// never as products of single-letter variables.
	if m := reWord.FindStringSubmatch(strings.TrimSpace(reference)); m != nil {
		v.Method = MethodString
		v.Equal = strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(m[1]), " "))
		return v
	}
	if lr, ok := choiceLetter(r); ok {
		la, _ := choiceLetter(a)
		v.Method = MethodChoice
		v.Equal = la == lr
		return v
	}
	tol := g.RelTol
	if tol == 0 {
		tol = DefaultRelTol
	}
	av, ar := parseAnswer(a), parseAnswer(r)
	if eq, method, detail, ok := compareValues(av, ar, tol); ok {
		v.Equal, v.Method, v.Detail = eq, method, detail
		return v
	}
	if g.Symbolic != nil {
		eq, err := g.Symbolic.Equivalent(ctx, a, r)
		if err == nil {
			v.Equal, v.Method = eq, MethodSymbolic
			return v
		}
		v.Detail = "sympy: " + err.Error()
	}
	if v.Method == "" {
		v.Method = MethodMismatch
	}
	return v
}

var (
	reText      = regexp.MustCompile(`\\(?:text|textbf|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}`)
	reDegrees   = regexp.MustCompile(`\^\s*\{?\\circ\}?|°|\\circ|\\degree`)
	reThousands = regexp.MustCompile(`^-?\d{1,3}(,\d{3})+(\.\d+)?$`)
	reVarPrefix = regexp.MustCompile(`^[a-zA-Z]\s*(=|\\in)\s*`)
	reUnits     = regexp.MustCompile(`^(.*?[0-9}])\s*(?:` + unitWords + `)(?:\^\{?[23]\}?)?$`)
	reChoice    = regexp.MustCompile(`^\(?([A-E])\)?$`)
	reMixed     = regexp.MustCompile(`^(-?)(\d+)\s*\\frac\s*\{?(\d+)\}?\s*\{?(\d+)\}?$`)
	reWord      = regexp.MustCompile(`^\\text\{\s*([A-Za-z][A-Za-z ]{2,})\s*\}$`)
	reBoxed     = regexp.MustCompile(`^\\(?:boxed|fbox)\s*\{(.*)\}$`)
	reMatrix    = regexp.MustCompile(`^\\begin\{[pbvBV]?matrix\}(.*)\\end\{[pbvBV]?matrix\}$`)
)

const unitWords = `units?|cm|centimeters?|m|meters?|km|kilometers?|inch(?:es)?|in|feet|foot|ft|yards?|miles?|mph|` +
	`degrees?|cents?|dollars?|hours?|minutes?|seconds?|days?|weeks?|years?|sq|square\s+\w+|cubic\s+\w+|` +
	`pounds?|ounces?|grams?|kg|liters?|gallons?|students?|people|ways|points?|percent`

// Normalize rewrites a LaTeX answer to a canonical spelling: no $ or
// \left/\right, \dfrac as \frac, no \text{} wrappers, degree signs, percent
// signs, dollar signs, units or thousands separators, no "x =" prefix.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "$")
	if m := reBoxed.FindStringSubmatch(s); m != nil && balanced(m[1]) {
		s = m[1]
	}
	for _, w := range []string{`\(`, `\)`, `\[`, `\]`} {
		if strings.HasPrefix(s, w) || strings.HasSuffix(s, w) {
			s = strings.TrimPrefix(strings.TrimSuffix(s, w), w)
		}
	}
	r := strings.NewReplacer(
		`\left`, "", `\right`, "", `\!`, "", `\,`, " ", `\;`, " ", `\:`, " ", `\quad`, " ", `\qquad`, " ",
		`\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\%`, "", "%", "", `\$`, "",
		`{,}`, ",", `\emptyset`, `\varnothing`,
	)
	s = r.Replace(s)
	s = strings.ReplaceAll(s, `\left`, "")
	for {
		t := reText.ReplaceAllString(s, "$1")
		if t == s {
			break
		}
		s = t
	}
	s = reDegrees.ReplaceAllString(s, "")
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimSpace(s)
	if m := reUnits.FindStringSubmatch(s); m != nil {
		s = strings.TrimSpace(m[1])
	}
	if loc := reVarPrefix.FindStringIndex(s); loc != nil && !strings.Contains(s[loc[1]:], "=") {
		s = s[loc[1]:]
	}
	if reThousands.MatchString(strings.ReplaceAll(s, " ", "")) {
		s = strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), ",", "")
	}
	// A mixed number, as MATH writes 137 \frac{1}{2}: LaTeX has no operator
	// between the parts, so spell out the sum before anything multiplies them.
	if m := reMixed.FindStringSubmatch(s); m != nil {
		s = m[1] + "(" + m[2] + "+" + m[3] + "/" + m[4] + ")"
	}
	return strings.TrimSpace(s)
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

// value is an answer's structure: a single expression, an equation, or a
// list (tuple, interval, set, matrix row) of values.
type value struct {
	kind  byte // 'e' expression, 'q' equation, 'l' ordered list, 's' set, 'm' matrix
	open  byte // brackets of a list: ( [ {
	close byte
	src   string
	items []value
}

// parseAnswer splits an answer into its structure without evaluating it.
func parseAnswer(s string) value {
	s = strings.TrimSpace(s)
	if m := reMatrix.FindStringSubmatch(squashKeep(s)); m != nil {
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
		v := value{kind: 's', src: s}
		for _, p := range parts {
			v.items = append(v.items, parseAnswer(p))
		}
		return v
	}
	if strings.HasPrefix(s, `\{`) && strings.HasSuffix(s, `\}`) {
		return listOf('s', '{', '}', s[2:len(s)-2], s)
	}
	if len(s) >= 2 && strings.ContainsRune("([", rune(s[0])) && strings.ContainsRune(")]", rune(s[len(s)-1])) &&
		balanced(s[1:len(s)-1]) && len(splitTop(s[1:len(s)-1], ",")) > 1 {
		return listOf('l', s[0], s[len(s)-1], s[1:len(s)-1], s)
	}
	if parts := splitTop(s, ","); len(parts) > 1 {
		return listOf('s', 0, 0, s, s) // "1, -2": all solutions, in any order
	}
	if parts := splitTop(s, `\pm`); len(parts) == 2 {
		return value{kind: 's', src: s, items: []value{
			{kind: 'e', src: parts[0] + "+" + wrap(parts[1])},
			{kind: 'e', src: parts[0] + "-" + wrap(parts[1])},
		}}
	}
	if parts := splitTop(s, "="); len(parts) == 2 {
		return value{kind: 'q', src: s, items: []value{{kind: 'e', src: parts[0]}, {kind: 'e', src: parts[1]}}}
	}
	return value{kind: 'e', src: s}
}

func wrap(s string) string { return "(" + s + ")" }

// squashKeep trims surrounding space only; matrices keep inner spacing.
func squashKeep(s string) string { return strings.TrimSpace(s) }

func listOf(kind, open, close byte, inner, src string) value {
	v := value{kind: kind, open: open, close: close, src: src}
	for _, p := range splitTop(inner, ",") {
		it := parseAnswer(p)
		if kind == 's' && it.kind == 's' && it.open == 0 {
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

// compareValues compares two parsed answers; ok is false when either side
// could not be evaluated, so that a symbolic fallback may decide.
func compareValues(a, r value, tol float64) (eq bool, method, detail string, ok bool) {
	if a.kind != r.kind {
		// A one-element set answers a single-expression question.
		if a.kind == 's' && len(a.items) == 1 {
			return compareValues(a.items[0], r, tol)
		}
		if r.kind == 's' && len(r.items) == 1 {
			return compareValues(a, r.items[0], tol)
		}
		// An equation on one side only: compare its right side ("y = 2x+3" vs "2x+3").
		if a.kind == 'q' && r.kind == 'e' {
			return compareValues(a.items[1], r, tol)
		}
		if r.kind == 'q' && a.kind == 'e' {
			return compareValues(a, r.items[1], tol)
		}
		_, aerr := evalAll(a)
		_, rerr := evalAll(r)
		return false, MethodList, "different shapes", aerr == nil && rerr == nil
	}
	switch a.kind {
	case 'e':
		return compareExprs(a.src, r.src, tol)
	case 'q':
		return compareEquations(a, r, tol)
	case 'l', 'm':
		if a.open != r.open || a.close != r.close {
			return false, MethodList, "different brackets", true
		}
		if len(a.items) != len(r.items) {
			return false, MethodList, "different lengths", true
		}
		for i := range a.items {
			eq, _, detail, ok := compareValues(a.items[i], r.items[i], tol)
			if !ok || !eq {
				return false, MethodList, detail, ok
			}
		}
		return true, MethodList, "", true
	case 's':
		if len(a.items) != len(r.items) {
			return false, MethodList, "different sizes", true
		}
		used := make([]bool, len(r.items))
	next:
		for _, x := range a.items {
			for j, y := range r.items {
				if used[j] {
					continue
				}
				if eq, _, _, ok := compareValues(x, y, tol); ok && eq {
					used[j] = true
					continue next
				}
			}
			return false, MethodList, "no match for " + x.src, true
		}
		return true, MethodList, "", true
	}
	return false, "", "", false
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

// samples are the points at which expressions with variables are compared;
// fixed so that grading is deterministic.
var samples = func() []map[string]float64 {
	rng := rand.New(rand.NewPCG(2503, 4625))
	out := make([]map[string]float64, 5)
	for i := range out {
		out[i] = map[string]float64{}
		for _, name := range []string{"a", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "o", "p", "q",
			"r", "s", "t", "u", "v", "w", "x", "y", "z", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L",
			"M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "theta", "alpha", "beta"} {
			out[i][name] = 0.5 + 2.5*rng.Float64()
		}
	}
	return out
}()

func compareExprs(a, r string, tol float64) (bool, string, string, bool) {
	ea, va, err := parseExpr(a)
	if err != nil {
		return false, "", "answer: " + err.Error(), false
	}
	er, vr, err := parseExpr(r)
	if err != nil {
		return false, "", "reference: " + err.Error(), false
	}
	method := MethodNumeric
	if len(va)+len(vr) > 0 {
		method = MethodIdentity
	}
	for _, pt := range points(va, vr) {
		x, err1 := ea.eval(pt)
		y, err2 := er.eval(pt)
		if err1 != nil || err2 != nil {
			return false, method, "cannot evaluate", false
		}
		if !approxEqual(x, y, tol) {
			return false, method, "values differ", true
		}
	}
	return true, method, "", true
}

func points(vars ...map[string]bool) []map[string]complex128 {
	var names []string
	for _, vs := range vars {
		for n := range vs {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	n := len(samples)
	if len(names) == 0 {
		n = 1
	}
	out := make([]map[string]complex128, n)
	for i := range out {
		out[i] = map[string]complex128{}
		for _, name := range names {
			out[i][name] = complex(samples[i][name], 0)
		}
	}
	return out
}

// compareEquations checks that lhs-rhs of both equations are proportional:
// "5x - 7y + 11z + 4 = 0" is the same plane as "-10x + 14y - 22z - 8 = 0".
func compareEquations(a, r value, tol float64) (bool, string, string, bool) {
	var diffs [2]expr
	vars := map[string]bool{}
	for i, q := range []value{a, r} {
		l, lv, err := parseExpr(q.items[0].src)
		if err != nil {
			return false, "", err.Error(), false
		}
		rr, rv, err := parseExpr(q.items[1].src)
		if err != nil {
			return false, "", err.Error(), false
		}
		for k := range lv {
			vars[k] = true
		}
		for k := range rv {
			vars[k] = true
		}
		diffs[i] = binExpr{op: '-', l: l, r: rr}
	}
	var ratio complex128
	for i, pt := range points(vars) {
		x, err1 := diffs[0].eval(pt)
		y, err2 := diffs[1].eval(pt)
		if err1 != nil || err2 != nil {
			return false, MethodEquation, "cannot evaluate", false
		}
		if y == 0 || x == 0 {
			if x != y {
				return false, MethodEquation, "values differ", true
			}
			continue
		}
		if i == 0 || ratio == 0 {
			ratio = x / y
		} else if !approxEqual(x/y, ratio, tol) {
			return false, MethodEquation, "not proportional", true
		}
	}
	return true, MethodEquation, "", true
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
