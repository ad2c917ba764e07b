package curate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Runner runs Python in the sandbox: the python plugin's session, reached
// through the plugin host. Curation never runs model code in its own process.
type Runner interface {
	RunPython(ctx context.Context, code string, timeout time.Duration) (RunResult, error)
}

// RunResult is one sandboxed run.
type RunResult struct {
	Stdout, Stderr string
	ExitCode       int
	// ErrorKind is the plugin's: "" (ran to the end), timeout, memory, …
	ErrorKind string
}

// Test outcomes.
const (
	TestPass    = "pass"
	TestFail    = "fail"
	TestTimeout = "timeout"
	TestError   = "error"
)

// TestResult is the outcome of one test of a code problem.
type TestResult struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// CodeVerdict is the outcome of all tests of one solution.
type CodeVerdict struct {
	Pass  bool         `json:"pass"`
	Tests []TestResult `json:"tests"`
}

// CodeGrader runs a problem's tests against a solution in the sandbox.
type CodeGrader struct {
	Runner  Runner
	Timeout time.Duration // per test program; 0 means 10 s
}

func (g *CodeGrader) timeout() time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return 10 * time.Second
}

// HumanEval grades a HumanEval-style solution: program is the full function
// (prompt plus completion, or a whole code block the model wrote), test
// defines check(candidate), entry is the function name.
func (g *CodeGrader) HumanEval(ctx context.Context, program, test, entry string) (CodeVerdict, error) {
	src := program + "\n\n" + test + "\n\ncheck(" + entry + ")\nprint('HINTFLEET-PASS')\n"
	res, err := g.Runner.RunPython(ctx, src, g.timeout())
	if err != nil {
		return CodeVerdict{}, fmt.Errorf("grade %s: %w", entry, err)
	}
	tr := TestResult{Name: "check(" + entry + ")"}
	switch {
	case res.ErrorKind == "timeout":
		tr.Outcome = TestTimeout
	case res.ErrorKind != "":
		tr.Outcome, tr.Detail = TestError, res.ErrorKind
	case res.ExitCode == 0 && strings.Contains(res.Stdout, "HINTFLEET-PASS"):
		tr.Outcome = TestPass
	case strings.Contains(res.Stderr, "AssertionError"):
		tr.Outcome, tr.Detail = TestFail, lastLine(res.Stderr)
	default:
		tr.Outcome, tr.Detail = TestError, lastLine(res.Stderr)
	}
	return CodeVerdict{Pass: tr.Outcome == TestPass, Tests: []TestResult{tr}}, nil
}

// IOCase is one LiveCodeBench-style stdin/stdout test.
type IOCase struct {
	Input  string `json:"input"`
	Output string `json:"output"`
}

// StdIO grades a program that reads stdin and writes stdout against cases,
// comparing output with trailing white space on each line ignored.
func (g *CodeGrader) StdIO(ctx context.Context, program string, cases []IOCase) (CodeVerdict, error) {
	v := CodeVerdict{Pass: len(cases) > 0}
	prog, _ := json.Marshal(program)
	for i, c := range cases {
		in, _ := json.Marshal(c.Input)
		// The program runs as __main__ with stdin replaced, so that
		// `if __name__ == "__main__":` and input() both work.
		src := fmt.Sprintf("import sys, io\nsys.stdin = io.StringIO(%s)\n__name__ = '__main__'\nexec(compile(%s, '<solution>', 'exec'), {'__name__': '__main__'})\n", in, prog)
		res, err := g.Runner.RunPython(ctx, src, g.timeout())
		if err != nil {
			return v, fmt.Errorf("grade case %d: %w", i, err)
		}
		tr := TestResult{Name: fmt.Sprintf("case %d", i)}
		switch {
		case res.ErrorKind == "timeout":
			tr.Outcome = TestTimeout
		case res.ErrorKind != "" || res.ExitCode != 0:
			tr.Outcome, tr.Detail = TestError, lastLine(res.Stderr)
		case normalizeOutput(res.Stdout) == normalizeOutput(c.Output):
			tr.Outcome = TestPass
		default:
			tr.Outcome, tr.Detail = TestFail, fmt.Sprintf("got %q, want %q", firstN(res.Stdout, 80), firstN(c.Output, 80))
		}
		if tr.Outcome != TestPass {
			v.Pass = false
		}
		v.Tests = append(v.Tests, tr)
	}
	return v, nil
}

func normalizeOutput(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n \t\r"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// BrokenVariant wraps a working solution so that its entry point returns a
// perturbed value of the same type: the kind of off-by-one bug a grader must
// catch. Used to show the grader fails what it should fail.
func BrokenVariant(program, entry string) string {
	return program + fmt.Sprintf(`

def _hintfleet_perturb(r):
    if isinstance(r, bool):
        return not r
    if isinstance(r, (int, float)):
        return r + 1
    if isinstance(r, str):
        return r + "x"
    if isinstance(r, (list, tuple)):
        return type(r)(list(r) + [None])
    if r is None:
        return 0
    return None

_hintfleet_orig = %[1]s
def %[1]s(*args, **kwargs):
    return _hintfleet_perturb(_hintfleet_orig(*args, **kwargs))
`, entry)
}
