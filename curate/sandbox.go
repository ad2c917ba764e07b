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

// Sympy decides symbolic equivalence with sympy inside the sandbox. It
// takes answers already translated by ToSympy and compares them by
// structure: tuples in order, finite sets in any order, intervals and unions
// as sets, equations as proportional lhs - rhs, relations by the sets they
// define, expressions by simplify(a - b) == 0 or a numeric difference below
// 1e-9 at 30 digits. It implements Symbolic.
//
// When Runner also implements Sessions, each worker slot keeps one sandbox
// session with sympy imported and the comparison code installed, so that a
// comparison costs its own time; a session that timed out is replaced.
type Sympy struct {
	Runner  Runner
	Timeout time.Duration // per comparison; 0 means 10 s
	Workers int           // sessions kept; 0 means the number of CPUs

	once  sync.Once
	slots chan Session
}

//go:embed sympyharness.py
var sympyHarness string

func (s *Sympy) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

// Close kills the sessions Sympy keeps.
func (s *Sympy) Close(ctx context.Context) error {
	if s.slots == nil {
		return nil
	}
	var errs []error
	for range cap(s.slots) {
		if sess := <-s.slots; sess != nil {
			errs = append(errs, sess.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// Equivalent implements Symbolic.
func (s *Sympy) Equivalent(ctx context.Context, answer, reference string) (bool, error) {
	args, _ := json.Marshal([]string{answer, reference})
	lit, _ := json.Marshal(string(args))
	call := "_hf_sympy_compare(" + string(lit) + ")"
	var res RunResult
	var err error
	if opener, ok := s.Runner.(Sessions); ok {
		res, err = s.inSession(ctx, opener, call)
	} else {
		res, err = s.Runner.RunPython(ctx, sympyHarness+"\n"+call+"\n", s.timeout())
	}
	if err != nil {
		return false, err
	}
	switch out := strings.TrimSpace(res.Stdout); {
	case strings.HasSuffix(out, "DIFFERENT"):
		return false, nil
	case strings.HasSuffix(out, "EQUAL"):
		return true, nil
	}
	if res.ErrorKind != "" {
		return false, fmt.Errorf("sympy: %s", res.ErrorKind)
	}
	return false, fmt.Errorf("sympy could not compare: %s", lastLine(res.Stderr))
}

func (s *Sympy) inSession(ctx context.Context, opener Sessions, call string) (RunResult, error) {
	s.once.Do(func() {
		n := s.Workers
		if n <= 0 {
			n = runtime.NumCPU()
		}
		s.slots = make(chan Session, n)
		for range n {
			s.slots <- nil
		}
	})
	var sess Session
	select {
	case sess = <-s.slots:
	case <-ctx.Done():
		return RunResult{}, context.Cause(ctx)
	}
	defer func() { s.slots <- sess }()
	if sess == nil {
		var err error
		if sess, err = opener.OpenSession(ctx); err != nil {
			return RunResult{}, err
		}
		res, err := sess.RunPython(ctx, sympyHarness, s.timeout())
		if err == nil && (res.ExitCode != 0 || res.ErrorKind != "") {
			err = fmt.Errorf("install sympy harness: %s %s", res.ErrorKind, lastLine(res.Stderr))
		}
		if err != nil {
			sess.Close(context.WithoutCancel(ctx))
			sess = nil
			return RunResult{}, err
		}
	}
	res, err := sess.RunPython(ctx, call, s.timeout())
	if err != nil || res.ErrorKind != "" {
		sess.Close(context.WithoutCancel(ctx)) // timed out or broken: a new one next time
		sess = nil
	}
	return res, err
}
