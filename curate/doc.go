// Package curate is Hint-RFT's curation: graders that decide whether a
// trajectory's answer is right (math answer equivalence, code tests), filters
// that drop what the paper drops, rewrites applied before training, and
// export to the formats trainers read.
//
// The math grader evaluates both answers with its own LaTeX parser (numbers,
// fractions, roots, complex numbers, base-n numerals, tuples, intervals, sets,
// matrices, equations, polynomials compared at random points) and falls back
// on sympy, run inside the python plugin's sandbox, only where that parser
// cannot decide. Every verdict names the method that decided it.
package curate
