package curate

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Runner runs Python in the sandbox: the python plugin's session, reached
// through the plugin host. Curation never runs model code in its own process.
type Runner interface {
	RunPython(ctx context.Context, code string, timeout time.Duration) (RunResult, error)
}

// Sessions opens sandbox sessions that keep their interpreter between runs.
// The code grader needs one: it turns a session into a fork server.
type Sessions interface {
	OpenSession(ctx context.Context) (Session, error)
}

// Session is one sandboxed interpreter that keeps state between runs. A
// session is used by one goroutine at a time; Close kills its interpreter.
type Session interface {
	Runner
	Close(ctx context.Context) error
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
	// TestSkipped marks tests not run because an earlier one did not pass,
	// as LiveCodeBench's evaluator stops at the first failure.
	TestSkipped = "skipped"
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

// Defaults of CodeGrader.
const (
	DefaultTestTimeout   = 6 * time.Second
	DefaultImportTimeout = 20 * time.Second
	// forkServerPrograms is how many programs one sandbox serves before it
	// is replaced, so that whatever a program leaves in the sandbox's /tmp
	// or the fork server's memory does not pile up.
	forkServerPrograms = 500
)

//go:embed codeharness.py
var codeHarness string

// CodeGrader runs a problem's tests against a solution in the sandbox.
//
// Each worker slot holds one sandbox session turned into a fork server
// (codeharness.py): a program runs in a process forked from it, its tests
// one after another in that process, each under its own wall-clock limit,
// and every process the program left behind is killed before the next
// program. The sandbox should start interpreters without numpy and sympy
// (python.WithPreload()); a program that imports them imports them itself,
// before its first test's clock starts.
//
// One program's whole run (its imports and all its tests) is one call into
// the sandbox, so the sandbox's own per-call limit (python.WithLimits'
// Timeout, 30 s by default) caps it: size that limit for the number of tests
// times Timeout. A program that runs past it is an error, not a verdict.
//
// CodeGrader is safe for concurrent use; Close kills its sessions.
type CodeGrader struct {
	Sandbox Sessions
	// Timeout is the wall-clock limit per test; 0 means DefaultTestTimeout.
	Timeout time.Duration
	// ImportTimeout bounds the imports a program makes before its tests;
	// 0 means DefaultImportTimeout.
	ImportTimeout time.Duration
	// Workers is how many programs run at once; 0 means the number of CPUs.
	Workers int

	once  sync.Once
	slots chan *forkServer
}

type forkServer struct {
	s    Session
	used int
}

func (g *CodeGrader) init() {
	g.once.Do(func() {
		n := g.Workers
		if n <= 0 {
			n = runtime.NumCPU()
		}
		g.slots = make(chan *forkServer, n)
		for range n {
			g.slots <- nil // opened on first use
		}
	})
}

func (g *CodeGrader) testTimeout() time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return DefaultTestTimeout
}

func (g *CodeGrader) importTimeout() time.Duration {
	if g.ImportTimeout > 0 {
		return g.ImportTimeout
	}
	return DefaultImportTimeout
}

// Close kills the grader's sandbox sessions. Calls in flight finish first.
func (g *CodeGrader) Close(ctx context.Context) error {
	g.init()
	var errs []error
	for range cap(g.slots) {
		fs := <-g.slots
		if fs != nil {
			errs = append(errs, fs.s.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// job is what codeharness.py's _hf_grade takes.
type job struct {
	Mode          string   `json:"mode"` // call (HumanEval) or io (stdin/stdout)
	Program       string   `json:"program"`
	Check         string   `json:"check,omitempty"`
	Entry         string   `json:"entry,omitempty"`
	Tests         []IOCase `json:"tests,omitempty"`
	Timeout       float64  `json:"timeout"`
	ImportTimeout float64  `json:"import_timeout"`
}

type harnessResult struct {
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// run grades one program in a fork server, opening or replacing it as
// needed, and returns one result per test run.
func (g *CodeGrader) run(ctx context.Context, j job, tests int) ([]harnessResult, error) {
	g.init()
	if g.Sandbox == nil {
		return nil, errors.New("code grader: no sandbox")
	}
	j.Timeout = g.testTimeout().Seconds()
	j.ImportTimeout = g.importTimeout().Seconds()
	var fs *forkServer
	select {
	case fs = <-g.slots:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { g.slots <- fs }()
	if fs == nil || fs.used >= forkServerPrograms {
		if fs != nil {
			fs.s.Close(context.WithoutCancel(ctx))
			fs = nil
		}
		s, err := g.Sandbox.OpenSession(ctx)
		if err != nil {
			return nil, fmt.Errorf("open sandbox session: %w", err)
		}
		res, err := s.RunPython(ctx, codeHarness, g.importTimeout())
		if err == nil && (res.ExitCode != 0 || res.ErrorKind != "") {
			err = fmt.Errorf("install harness: %s %s", res.ErrorKind, lastLine(res.Stderr))
		}
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		fs = &forkServer{s: s}
	}
	fs.used++
	arg, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	lit, _ := json.Marshal(string(arg))
	budget := g.importTimeout() + time.Duration(tests)*g.testTimeout() + 5*time.Second
	res, err := fs.s.RunPython(ctx, "_hf_grade("+string(lit)+")", budget)
	if err == nil && (res.ErrorKind != "" || res.ExitCode != 0) {
		err = fmt.Errorf("fork server: %s %s", res.ErrorKind, lastLine(res.Stderr))
	}
	var out []harnessResult
	if err == nil {
		if jerr := json.Unmarshal([]byte(lastLine(res.Stdout)), &out); jerr != nil {
			err = fmt.Errorf("fork server answer %q: %w", firstN(res.Stdout, 200), jerr)
		}
	}
	if err != nil {
		// The session is in an unknown state: replace it next time.
		fs.s.Close(context.WithoutCancel(ctx))
		fs = nil
		return nil, err
	}
	return out, nil
}

// HumanEval grades a HumanEval-style solution: program is the full function
// (prompt plus completion, or a whole code block the model wrote), test
// defines check(candidate), entry is the function name. The test has the
// per-test time limit.
func (g *CodeGrader) HumanEval(ctx context.Context, program, test, entry string) (CodeVerdict, error) {
	out, err := g.run(ctx, job{Mode: "call", Program: program, Check: test, Entry: entry}, 1)
	if err != nil {
		return CodeVerdict{}, fmt.Errorf("grade %s: %w", entry, err)
	}
	tr := TestResult{Name: "check(" + entry + ")", Outcome: TestError, Detail: "no result"}
	if len(out) > 0 {
		tr.Outcome, tr.Detail = out[0].Outcome, out[0].Detail
	}
	return CodeVerdict{Pass: tr.Outcome == TestPass, Tests: []TestResult{tr}}, nil
}

// IOCase is one LiveCodeBench-style stdin/stdout test.
type IOCase struct {
	Input  string `json:"input"`
	Output string `json:"output"`
}

// StdIO grades a program that reads stdin and writes stdout against cases,
// comparing output with trailing white space on each line and trailing
// blank lines ignored. The program runs as __main__ once per case, each run
// under the per-test time limit; cases after the first that does not pass
// are skipped.
func (g *CodeGrader) StdIO(ctx context.Context, program string, cases []IOCase) (CodeVerdict, error) {
	if len(cases) == 0 {
		return CodeVerdict{}, nil
	}
	out, err := g.run(ctx, job{Mode: "io", Program: program, Tests: cases}, len(cases))
	if err != nil {
		return CodeVerdict{}, fmt.Errorf("grade program: %w", err)
	}
	v := CodeVerdict{Pass: len(out) == len(cases)}
	for i := range cases {
		tr := TestResult{Name: fmt.Sprintf("case %d", i), Outcome: TestSkipped}
		if i < len(out) {
			tr.Outcome, tr.Detail = out[i].Outcome, out[i].Detail
		}
		if tr.Outcome != TestPass {
			v.Pass = false
		}
		v.Tests = append(v.Tests, tr)
	}
	return v, nil
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
