// Package curate is Hint-RFT's curation: graders that decide whether a
// trajectory's answer is right (math answer equivalence, code tests), filters
// that drop what the paper drops, rewrites applied before training, and
// export to the formats trainers read.
//
// Math grading is two steps: Extract finds the answer in a response written
// as prose (the last \boxed{}, "The final answer is", "Answer:", a final
// display, …), and MathGrader.Grade compares it with the reference using its
// own LaTeX parser (exact rationals, numbers within a tolerance, identities at
// fixed points, equations and relations by the sets they define, tuples,
// intervals, sets, matrices) and falls back on sympy, run inside the python
// plugin's sandbox on hintfleet's own LaTeX→sympy translation (ToSympy), only
// where that parser cannot decide. Every extraction names its rule and every
// verdict the method that decided it. docs/grading.md has the rules and where
// they differ from other graders.
//
// Code grading (CodeGrader) runs HumanEval checks and stdin/stdout tests in
// a fork server inside one sandbox session per worker.
package curate
