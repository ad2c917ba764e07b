package curate

import (
	"context"
	"regexp"
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
	MethodEquation = "equation" // equations defining the same set; an assignment x = 5 against 5
	MethodRelation = "relation" // inequalities and intervals defining the same set
	MethodList     = "list"     // tuples, intervals, sets, matrices, element by element
	MethodSymbolic = "sympy"    // decided by sympy in the sandbox
	MethodMismatch = "mismatch" // none of the above found them equal
)

// Symbolic decides equivalence where hintfleet's own parser cannot, by running
// sympy inside the python plugin's sandbox (never in the host process). The
// grader hands it both answers already translated by ToSympy.
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

// Grade compares answer with reference. Both are bare answers; Extract
// finds the answer in a whole response first (GradeAnswer does both).
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
		la, ok := choiceLetter(a)
		if m := reChoiceLead.FindStringSubmatch(squash(a)); !ok && m != nil {
			la = m[1] // "(C) 27": the letter with its option's value
		}
		v.Method = MethodChoice
		v.Equal = la == lr
		return v
	}
	tol := g.RelTol
	if tol == 0 {
		tol = DefaultRelTol
	}
	av, ar := parseAnswer(a), parseAnswer(r)
	eq, method, detail, ok := compareValues(av, ar, tol)
	if ok {
		v.Equal, v.Method, v.Detail = eq, method, detail
		return v
	}
	v.Detail = detail
	if g.Symbolic != nil {
		sa, errA := toSympyValue(av)
		sr, errR := toSympyValue(ar)
		if errA == nil && errR == nil {
			eq, err := g.Symbolic.Equivalent(ctx, sa, sr)
			if err == nil {
				v.Equal, v.Method, v.Detail = eq, MethodSymbolic, ""
				return v
			}
			v.Detail = "sympy: " + err.Error()
		} else {
			v.Detail = "translate to sympy: " + firstErr(errA, errR).Error()
		}
	}
	v.Method = MethodMismatch
	return v
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

var (
	reText       = regexp.MustCompile(`\\(?:text|textbf|textit|textrm|textnormal|textsf|mbox|mathrm|mathbf|mathsf|operatorname)\s*\{([^{}]*)\}`)
	reDegrees    = regexp.MustCompile(`\^\s*\{?\\circ\}?|°|\\circ|\\degree`)
	reThousands  = regexp.MustCompile(`^-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$`)
	reSpaced     = regexp.MustCompile(`^-?[1-9]\d{0,2}( \d{3})+(\.\d+)?$`)
	reDecComma   = regexp.MustCompile(`^(-?0),(\d{2,})$`)
	reVarIn      = regexp.MustCompile(`^[a-zA-Z]\s*\\in\s*`)
	reUnits      = regexp.MustCompile(`^(.*?[0-9}).])\s*(?:` + unitWords + `)(?:\^\{?[23]\}?)?$`)
	reWords      = regexp.MustCompile(`^(.*?[0-9}])\s+([A-Za-z][A-Za-z.\-]*(?:\s+[A-Za-z][A-Za-z.\-]*)*)$`)
	reOrAnd      = regexp.MustCompile(`\s+(?:or|and)\s+`)
	reRelation   = regexp.MustCompile(`\\(leqslant|leq|le|geqslant|geq|ge|neq|ne|lt|gt)([^a-zA-Z]|$)`)
	reChoice     = regexp.MustCompile(`^\(?([A-E])\)?$`)
	reChoiceLead = regexp.MustCompile(`^\(([A-E])\)`)
	reMixed      = regexp.MustCompile(`^(-?)(\d+)\s*\\frac\s*\{?(\d+)\}?\s*\{?(\d+)\}?$`)
	reWord       = regexp.MustCompile(`^\\text\{\s*([A-Za-z][A-Za-z ]{2,})\s*\}$`)
	reBoxed      = regexp.MustCompile(`^\\(?:boxed|fbox)\s*\{(.*)\}$`)
	reMatrix     = regexp.MustCompile(`^(?:\[\s*)?\\begin\{(?:[pbvBV]?matrix|array)\}(?:\{[lcr|]*\})?(.*)\\end\{(?:[pbvBV]?matrix|array)\}(?:\s*\])?$`)
)

const unitWords = `units?|cm|mm|centimeters?|m|meters?|metres?|km|kilometers?|inch(?:es)?|in|feet|foot|ft|yards?|yd|miles?|mi|mph|` +
	`kph|km/h|m/s|degrees?|cents?|dollars?|euros?|hours?|hrs?|minutes?|mins?|seconds?|secs?|s|days?|weeks?|months?|years?|` +
	`sq\.?\s*\w+|square\s+\w+|cubic\s+\w+|pounds?|lbs?|ounces?|oz|grams?|g|kg|mg|liters?|litres?|ml|mL|L|gallons?|` +
	`students?|people|persons?|ways|points?|percent|per\s*cent|pct|times|apples|marbles|books|cookies|pages|tickets`

// notUnits are words that may follow a number in an answer without being
// its unit: they make it a list, a formula or a word answer.
var notUnits = map[string]bool{"and": true, "or": true, "to": true, "of": true, "if": true, "is": true, "pi": true,
	"sqrt": true, "mod": true, "times": false, "over": true, "i": true, "e": true, "inf": true, "infinity": true}

// Normalize rewrites a LaTeX answer to a canonical spelling: no $ or
// \left/\right, \dfrac \tfrac \cfrac as \frac, no \text{} wrappers, degree
// signs, percent signs and words, dollar signs, units, thousands separators
// (1,000 and 10\,000; a decimal comma as in 0,111 becomes a point), relations
// as < <= > >= !=, "or"/"and" between answers as a comma, no "x \in" prefix.
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
	s = normReplacer.Replace(s)
	for {
		t := reText.ReplaceAllString(s, "$1")
		if t == s {
			break
		}
		s = t
	}
	s = reDegrees.ReplaceAllString(s, "")
	s = reRelation.ReplaceAllStringFunc(s, func(m string) string {
		sub := reRelation.FindStringSubmatch(m)
		op := map[string]string{"leqslant": "<=", "leq": "<=", "le": "<=", "geqslant": ">=", "geq": ">=", "ge": ">=",
			"neq": "!=", "ne": "!=", "lt": "<", "gt": ">"}[sub[1]]
		return op + sub[2]
	})
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimSpace(s)
	for range 2 { // "12 square units", "5 \text{cm}^2"
		if m := reUnits.FindStringSubmatch(s); m != nil {
			s = strings.TrimSpace(m[1])
		}
	}
	if m := reWords.FindStringSubmatch(s); m != nil && !hasNotUnit(m[2]) {
		s = strings.TrimSpace(m[1]) // "12 apples": a count and its noun
	}
	if strings.ContainsAny(s, "0123456789") {
		s = reOrAnd.ReplaceAllString(s, ", ")
	}
	if loc := reVarIn.FindStringIndex(s); loc != nil {
		s = s[loc[1]:]
	}
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && balanced(s[1:len(s)-1]) {
		s = strings.TrimSpace(s[1 : len(s)-1]) // {1,3}: braces only group in LaTeX
	}
	if !strings.Contains(s, ",") && strings.Contains(s, ";") {
		s = strings.ReplaceAll(s, ";", ",") // -12; -11; -10: a list with semicolons
	}
	if parts := splitTop(s, `\approx`); len(parts) == 2 {
		// x \approx 11 is 11; 1/3 \approx 0.33 is 1/3.
		if isLoneVar(parts[0]) {
			s = parts[1]
		} else {
			s = parts[0]
		}
	}
	compact := strings.TrimSpace(s)
	switch {
	case reThousands.MatchString(compact):
		s = strings.ReplaceAll(compact, ",", "")
	case reSpaced.MatchString(compact):
		s = strings.ReplaceAll(compact, " ", "")
	case reDecComma.MatchString(compact):
		s = reDecComma.ReplaceAllString(compact, "$1.$2")
	}
	// A mixed number, as MATH writes 137 \frac{1}{2}: LaTeX has no operator
	// between the parts, so spell out the sum before anything multiplies them.
	if m := reMixed.FindStringSubmatch(s); m != nil {
		s = m[1] + "(" + m[2] + "+" + m[3] + "/" + m[4] + ")"
	}
	return strings.TrimSpace(s)
}

func hasNotUnit(words string) bool {
	for _, w := range strings.Fields(words) {
		if notUnits[strings.ToLower(w)] || len(w) < 2 {
			return true
		}
	}
	return false
}

var normReplacer = strings.NewReplacer(
	`\\`, `\\`, // a row break stays: its second backslash starts no command
	`,\! `, ",", `,\!`, ",", `\left`, "", `\right`, "", `\!`, "", `\,`, " ", `\;`, " ", `\:`, " ", `\ `, " ", "~", " ", `\quad`, " ", `\qquad`, " ",
	`\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\cfrac`, `\frac`, `\%`, "", "%", "", `\$`, "",
	"$", "", `{,}`, ",", `\emptyset`, `\varnothing`, "−", "-", "–", "-", "×", `\times `, "÷", `\div `, "π", `\pi `, "∞", `\infty `,
	"√", `\sqrt`, "≤", `\le `, "≥", `\ge `, "≠", `\ne `, "·", `\cdot `, `\dots`, "", `\ldots`, "", `\cdots`, "",
)
