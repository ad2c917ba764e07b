package curate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hintfleet/hintfleet/plugins/python"
)

// NewMathGrader returns a math grader; with sympy it falls back on sympy,
// run in one bubblewrap sandbox, where the built-in parser cannot decide.
// stop ends the sandbox.
func NewMathGrader(sympy bool) (g *MathGrader, stop func(), err error) {
	if !sympy {
		return &MathGrader{}, func() {}, nil
	}
	interp, err := python.New(python.WithPoolSize(1))
	if err != nil {
		return nil, nil, fmt.Errorf("start sandbox for sympy: %w", err)
	}
	return &MathGrader{Symbolic: &Sympy{Runner: ToolRunner{Tool: interp}, Workers: 1}}, interp.Stop, nil
}

// Plan is one curation as a command line gives it: plain values that Run
// checks and turns into Options.
type Plan struct {
	Inputs  []string
	OutDir  string
	Name    string
	System  string
	Formats []string
	// RulesFile holds rewrite rules (LoadRules); empty uses DefaultRules.
	RulesFile string
	Filter    FilterConfig
	// Sympy regrades with sympy in the sandbox where needed.
	Sympy bool
}

// Run curates p.Inputs into p.OutDir (made by Run once the inputs are
// found) and writes the report there (WriteReport) before returning it.
func (p Plan) Run(ctx context.Context) (*Report, error) {
	if len(p.Inputs) == 0 {
		return nil, errors.New("no --in trajectories given")
	}
	g, stop, err := NewMathGrader(p.Sympy)
	if err != nil {
		return nil, err
	}
	defer stop()
	opt := Options{Inputs: p.Inputs, OutDir: p.OutDir, Name: p.Name, System: p.System, Grader: g}
	if opt.Filters, err = p.Filter.Filters(p.Inputs); err != nil {
		return nil, err
	}
	for _, f := range p.Formats {
		opt.Formats = append(opt.Formats, Format(f))
	}
	if p.RulesFile != "" {
		if opt.Rules, err = LoadRules(p.RulesFile); err != nil {
			return nil, err
		}
	}
	if opt.Kinds, err = ProblemKinds(p.Inputs); err != nil {
		return nil, err
	}
	rep, err := Run(ctx, opt)
	if err != nil {
		return nil, err
	}
	if err := WriteReport(p.OutDir, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// Text is one graded pair in words: the verdict, how it was decided and
// what was extracted from each side, or REFUSED and why.
func (g Graded) Text() string {
	if g.Error != "" {
		return "REFUSED\t" + g.Error
	}
	v := g.Verdict
	verdict := "NOT EQUAL"
	if v.Equal {
		verdict = "EQUAL"
	}
	detail := ""
	if v.Detail != "" {
		detail = ": " + v.Detail
	}
	return fmt.Sprintf("%s by %s (%q by %s vs %q)%s", verdict, v.Method, g.Extracted.Answer, g.Extracted.Rule, g.Reference.Answer, detail)
}

// WriteText writes Text and a newline: `hintfleet grade`'s one answer.
func (g Graded) WriteText(w io.Writer) error {
	_, err := fmt.Fprintln(w, g.Text())
	return err
}

// WriteGradedPath is WriteGradedFile of the file at path: `hintfleet
// grade --file`.
func (g *MathGrader) WriteGradedPath(ctx context.Context, path string, out, errOut io.Writer, asJSON bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return g.WriteGradedFile(ctx, f, path, out, errOut, asJSON)
}

// WriteGradedFile grades the pairs of r (GradeFile) and writes one line
// per input line to out (JSON, or LINE<TAB>Text), refusals also to errOut,
// then the tally to errOut. Refused lines make it an error, after all the
// lines are written.
func (g *MathGrader) WriteGradedFile(ctx context.Context, r io.Reader, name string, out, errOut io.Writer, asJSON bool) error {
	enc := json.NewEncoder(out)
	equal, total := 0, 0
	refused, err := g.GradeFile(ctx, r, name, func(res Graded) error {
		if res.Error != "" {
			fmt.Fprintln(errOut, res.Error)
		} else {
			total++
			if res.Verdict.Equal {
				equal++
			}
		}
		if asJSON {
			return enc.Encode(res)
		}
		_, err := fmt.Fprintf(out, "%d\t%s\n", res.Line, res.Text())
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "%d/%d equal, %d lines refused\n", equal, total, refused)
	if refused > 0 {
		return fmt.Errorf("%s: %d lines refused", name, refused)
	}
	return nil
}

// WriteText prints the RFT selection in one line: pass@1, pass@k, maj@k
// and what was kept.
func (res *RFTResult) WriteText(w io.Writer) error {
	s := res.Stats
	_, err := fmt.Fprintf(w, "problems %d  k %d  pass@1 %.3f  pass@%d %.3f  maj@%d %.3f  kept %d (dropped %d duplicates)  bad lines %d\n",
		s.Problems, s.K, s.PassAt1, s.K, s.PassAtK, s.K, s.MajAtK, res.Kept, res.Duplicates, len(res.Bad))
	return err
}
