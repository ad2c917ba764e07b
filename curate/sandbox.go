package curate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// ToolRunner runs Python through a tool plugin (the sandboxed interpreter,
// in-process or behind the plugin host), one fresh session per run so that
// no graded program sees another's state.
type ToolRunner struct {
	Tool plugins.Tool
}

// RunPython implements Runner.
func (r ToolRunner) RunPython(ctx context.Context, code string, timeout time.Duration) (RunResult, error) {
	sid, err := r.Tool.Open(ctx, plugins.OpenRequest{Trajectory: "grade", Stateless: true})
	if err != nil {
		return RunResult{}, fmt.Errorf("open sandbox session: %w", err)
	}
	defer r.Tool.Close(context.WithoutCancel(ctx), sid)
	res, err := r.Tool.Exec(ctx, plugins.ExecRequest{Session: sid, Code: code, Timeout: timeout})
	if err != nil {
		return RunResult{}, fmt.Errorf("run in sandbox: %w", err)
	}
	return RunResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode, ErrorKind: string(res.ErrorKind)}, nil
}

// OpenSession implements Sessions: a stateful session of the tool, whose
// interpreter keeps its state between runs until Close.
func (r ToolRunner) OpenSession(ctx context.Context) (Session, error) {
	sid, err := r.Tool.Open(ctx, plugins.OpenRequest{Trajectory: "grade"})
	if err != nil {
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	return &toolSession{tool: r.Tool, id: sid}, nil
}

type toolSession struct {
	tool plugins.Tool
	id   string
}

func (s *toolSession) RunPython(ctx context.Context, code string, timeout time.Duration) (RunResult, error) {
	res, err := s.tool.Exec(ctx, plugins.ExecRequest{Session: s.id, Code: code, Timeout: timeout})
	if err != nil {
		return RunResult{}, fmt.Errorf("run in sandbox: %w", err)
	}
	return RunResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode, ErrorKind: string(res.ErrorKind)}, nil
}

func (s *toolSession) Close(ctx context.Context) error { return s.tool.Close(ctx, s.id) }

// Sympy decides symbolic equivalence with sympy inside the sandbox: both
// answers are turned from LaTeX into sympy syntax and simplify(a - b) is
// checked for zero. It implements Symbolic.
type Sympy struct {
	Runner  Runner
	Timeout time.Duration // 0 means 10 s
}

// sympyProgram parses two expressions given as JSON strings and prints
// EQUAL or DIFFERENT; anything else (a parse error) is an error.
const sympyProgram = `
import json, re, sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations, implicit_multiplication_application, convert_xor
def tex(s):
    s = s.replace('\\left', '').replace('\\right', '')
    for _ in range(8):
        s = re.sub(r'\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}', r'((\1)/(\2))', s)
        s = re.sub(r'\\sqrt\[([^\]]*)\]\{([^{}]*)\}', r'((\2)**(1/(\1)))', s)
        s = re.sub(r'\\sqrt\{([^{}]*)\}', r'sqrt(\1)', s)
    s = re.sub(r'\\(cdot|times)', '*', s)
    s = s.replace('\\pi', 'pi').replace('\\infty', 'oo').replace('{', '(').replace('}', ')')
    s = re.sub(r'\\(sin|cos|tan|log|ln|exp)', r'\1', s)
    s = s.replace('\\', '')
    return parse_expr(s, transformations=standard_transformations + (implicit_multiplication_application, convert_xor))
a, b = json.loads(%s)
d = sympy.simplify(tex(a) - tex(b))
print('EQUAL' if d == 0 else 'DIFFERENT')
`

// Equivalent implements Symbolic.
func (s Sympy) Equivalent(ctx context.Context, answer, reference string) (bool, error) {
	args, _ := json.Marshal([]string{answer, reference})
	lit, _ := json.Marshal(string(args))
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	res, err := s.Runner.RunPython(ctx, fmt.Sprintf(sympyProgram, lit), timeout)
	if err != nil {
		return false, err
	}
	switch out := strings.TrimSpace(res.Stdout); {
	case strings.HasSuffix(out, "EQUAL") && !strings.HasSuffix(out, "DIFFERENT"):
		return true, nil
	case strings.HasSuffix(out, "DIFFERENT"):
		return false, nil
	}
	if res.ErrorKind != "" {
		return false, fmt.Errorf("sympy: %s", res.ErrorKind)
	}
	return false, fmt.Errorf("sympy could not compare: %s", lastLine(res.Stderr))
}
