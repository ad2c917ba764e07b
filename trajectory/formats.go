package trajectory

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// Format names a dataset file layout that LoadFile can map to Problems.
type Format string

// Known formats.
const (
	// FormatMath: "problem" (or "question"), "answer" (string or number),
	// optional "solution" and "id"; other fields go to Meta. MATH500, AIME24,
	// AIME25 and AMC23 are this format.
	FormatMath Format = "math"
	// FormatGSM8K: "question", "answer" holding the worked solution that ends
	// in "#### <final>", optional "idx".
	FormatGSM8K Format = "gsm8k"
	// FormatHumanEval: "task_id", "prompt", "entry_point", "test",
	// "canonical_solution".
	FormatHumanEval Format = "humaneval"
	// FormatGPQA: "Question", "Correct Answer", "Incorrect Answer 1".."3",
	// optional "Record ID", "Explanation", "Subdomain", "High-level domain".
	FormatGPQA Format = "gpqa"
	// FormatLiveCodeBench: "question_id", "question_content",
	// "public_test_cases" (a JSON string of [{input, output, testtype}]),
	// optional "starter_code", "metadata" (a JSON string with "func_name").
	FormatLiveCodeBench Format = "livecodebench"
	// FormatGeneric maps fields by name, as set by WithFieldMap.
	FormatGeneric Format = "generic"
)

// Formats lists the known formats.
func Formats() []Format {
	return []Format{FormatMath, FormatGSM8K, FormatHumanEval, FormatGPQA, FormatLiveCodeBench, FormatGeneric}
}

func (f Format) valid() bool { return slices.Contains(Formats(), f) }

// SniffFormat guesses the format of a file from the fields of one of its
// records. It returns ErrUnknownFormat when no known format fits.
func SniffFormat(fields map[string]json.RawMessage) (Format, error) {
	has := func(k string) bool { _, ok := fields[k]; return ok }
	switch {
	case has("Question") && has("Correct Answer"):
		return FormatGPQA, nil
	case has("question_content") && has("public_test_cases"):
		return FormatLiveCodeBench, nil
	case has("prompt") && has("entry_point"):
		return FormatHumanEval, nil
	case has("question") && has("answer") && !has("problem") && isGSM8KAnswer(fields["answer"]):
		return FormatGSM8K, nil
	case (has("problem") || has("question")) && has("answer"):
		return FormatMath, nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return "", fmt.Errorf("%w: no known format has fields %s (use WithFormat or WithFieldMap)",
		ErrUnknownFormat, strings.Join(keys, ", "))
}

func isGSM8KAnswer(v json.RawMessage) bool {
	var s string
	return json.Unmarshal(v, &s) == nil && strings.Contains(s, "#### ")
}

// mapper turns one row into a Problem.
type mapper func(r *row) (Problem, error)

func mapMath(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset, Kind: KindMath}
	var err error
	if p.ID, err = r.id("id"); err != nil {
		return p, err
	}
	q, ok, err := r.str("problem")
	if err != nil {
		return p, err
	}
	if ok {
		// AIME24 and AMC23 repeat the problem as "question".
		if alt, aok, _ := r.str("question"); aok && alt != q {
			r.used["question"] = false
		}
	} else if q, ok, err = r.str("question"); err != nil {
		return p, err
	}
	if !ok || strings.TrimSpace(q) == "" {
		return p, r.err("problem", ErrMissingField)
	}
	p.Question = q
	if p.Answer, _, err = r.scalar("answer"); err != nil {
		return p, err
	}
	if p.Solution, _, err = r.str("solution"); err != nil {
		return p, err
	}
	p.Meta = r.meta(nil)
	return p, nil
}

func mapGSM8K(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset, Kind: KindMath}
	var err error
	if p.ID, err = r.id("idx"); err != nil {
		return p, err
	}
	if p.Question, err = r.requiredStr("question"); err != nil {
		return p, err
	}
	sol, err := r.requiredStr("answer")
	if err != nil {
		return p, err
	}
	i := strings.LastIndex(sol, "#### ")
	if i < 0 {
		return p, r.err("answer", fmt.Errorf(`no "#### " before the final answer`))
	}
	p.Answer = strings.ReplaceAll(strings.TrimSpace(sol[i+len("#### "):]), ",", "")
	if p.Answer == "" {
		return p, r.err("answer", fmt.Errorf(`nothing after "#### "`))
	}
	p.Solution = sol
	p.Meta = r.meta(nil)
	return p, nil
}

func mapHumanEval(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset, Kind: KindCode}
	var err error
	if p.ID, err = r.id("task_id"); err != nil {
		return p, err
	}
	if p.Question, err = r.requiredStr("prompt"); err != nil {
		return p, err
	}
	if p.EntryPoint, err = r.requiredStr("entry_point"); err != nil {
		return p, err
	}
	if p.Test, err = r.requiredStr("test"); err != nil {
		return p, err
	}
	if p.CanonicalCode, _, err = r.str("canonical_solution"); err != nil {
		return p, err
	}
	p.Meta = r.meta(nil)
	return p, nil
}

// gpqaLetters label GPQA's four options.
var gpqaLetters = [4]string{"A", "B", "C", "D"}

// mapGPQA renders GPQA's question and four answers as a lettered
// multiple-choice question. The options are shuffled by a permutation drawn
// from a hash of the problem's id, so that the correct answer is not always
// "A" yet every run, machine and Go version shows the same order.
func mapGPQA(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset, Kind: KindMath}
	var err error
	if p.ID, err = r.id("Record ID"); err != nil {
		return p, err
	}
	q, err := r.requiredStr("Question")
	if err != nil {
		return p, err
	}
	opts := make([]string, 4)
	for i, f := range []string{"Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"} {
		s, err := r.requiredStr(f)
		if err != nil {
			return p, err
		}
		opts[i] = strings.TrimSpace(s)
	}
	perm := shuffleByID(p.ID, 4)
	var b strings.Builder
	b.WriteString(strings.TrimSpace(q))
	b.WriteString("\n")
	for pos, src := range perm {
		fmt.Fprintf(&b, "\n%s) %s", gpqaLetters[pos], opts[src])
		if src == 0 {
			p.Answer = gpqaLetters[pos]
		}
	}
	p.Question = b.String()
	if p.Solution, _, err = r.str("Explanation"); err != nil {
		return p, err
	}
	p.Meta = map[string]string{"correct_answer": opts[0]}
	for _, kv := range [][2]string{{"Subdomain", "subdomain"}, {"High-level domain", "domain"}} {
		if s, ok, err := r.str(kv[0]); err != nil {
			return p, err
		} else if ok {
			p.Meta[kv[1]] = strings.TrimSpace(s)
		}
	}
	return p, nil
}

// shuffleByID returns a permutation of 0..n-1 fixed by id: Fisher-Yates
// driven by splitmix64 seeded with FNV-1a of id. Spelled out here rather
// than taken from math/rand so that the order can never change under us.
func shuffleByID(id string, n int) []int {
	h := fnv.New64a()
	h.Write([]byte(id))
	state := h.Sum64()
	next := func() uint64 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(next() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

// LiveCodeBenchTest is one public test of a LiveCodeBench problem. Problem.Test
// holds a JSON array of them.
type LiveCodeBenchTest struct {
	Input    string `json:"input"`
	Output   string `json:"output"`
	TestType string `json:"testtype"` // "stdin" or "functional"
}

func mapLiveCodeBench(r *row) (Problem, error) {
	p := Problem{Dataset: r.dataset, Kind: KindCode}
	var err error
	if p.ID, err = r.id("question_id"); err != nil {
		return p, err
	}
	if p.Question, err = r.requiredStr("question_content"); err != nil {
		return p, err
	}
	tests, err := r.embeddedJSON("public_test_cases")
	if err != nil {
		return p, err
	}
	var cases []LiveCodeBenchTest
	if err := json.Unmarshal(tests, &cases); err != nil {
		_, _, what := DescribeJSONError(err)
		return p, r.err("public_test_cases", fmt.Errorf("want a JSON array of {input, output, testtype}: %w", what))
	}
	for i, c := range cases {
		if c.TestType != "stdin" && c.TestType != "functional" {
			return p, r.err("public_test_cases", fmt.Errorf("test %d: testtype %q: want stdin or functional", i, c.TestType))
		}
	}
	norm, err := json.Marshal(cases)
	if err != nil {
		return p, r.err("public_test_cases", err)
	}
	p.Test = string(norm)
	if _, ok := r.fields["metadata"]; ok {
		md, err := r.embeddedJSON("metadata")
		if err != nil {
			return p, err
		}
		var m struct {
			FuncName string `json:"func_name"`
		}
		if json.Unmarshal(md, &m) == nil {
			p.EntryPoint = m.FuncName
		}
	}
	// private_test_cases are large (often compressed) and graded elsewhere.
	r.used["private_test_cases"] = true
	p.Meta = r.meta(nil)
	return p, nil
}

// embeddedJSON reads a field that holds JSON either directly or, as
// LiveCodeBench publishes it, encoded in a string.
func (r *row) embeddedJSON(field string) (json.RawMessage, error) {
	v, ok := r.raw(field)
	if !ok {
		return nil, r.err(field, ErrMissingField)
	}
	if jsonType(v) != "string" {
		return v, nil
	}
	s, _, err := r.str(field)
	if err != nil {
		return nil, err
	}
	if !json.Valid([]byte(s)) {
		return nil, r.err(field, fmt.Errorf("string does not hold valid JSON"))
	}
	return json.RawMessage(s), nil
}
