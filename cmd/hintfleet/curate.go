package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/plugins/python"
	"github.com/hintfleet/hintfleet/report"
)

// sandboxGrader returns a math grader that falls back on sympy inside the
// bubblewrap sandbox, and a stop function.
func sandboxGrader(useSympy bool) (*curate.MathGrader, func(), error) {
	if !useSympy {
		return &curate.MathGrader{}, func() {}, nil
	}
	interp, err := python.New(python.WithPoolSize(1))
	if err != nil {
		return nil, nil, fmt.Errorf("start sandbox for sympy: %w", err)
	}
	return &curate.MathGrader{Symbolic: &curate.Sympy{Runner: curate.ToolRunner{Tool: interp}, Workers: 1}}, interp.Stop, nil
}

func newGradeCmd() *cobra.Command {
	var answer, reference, file string
	var jsonOut, sympy bool
	cmd := &cobra.Command{
		Use:   "grade",
		Short: "Extract a math answer from a response, compare it with a reference, and say how both were decided",
		Example: `  hintfleet grade --answer '\dfrac{1}{2}' --reference 0.5
  hintfleet grade --answer 'so the area is $\boxed{12}$.' --reference 12 --json
  hintfleet grade --file pairs.jsonl --json   # lines of {"id": …, "answer": …, "reference": …}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, stop, err := sandboxGrader(sympy)
			if err != nil {
				return err
			}
			defer stop()
			out := cmd.OutOrStdout()
			if file == "" {
				if !cmd.Flags().Changed("answer") || !cmd.Flags().Changed("reference") {
					return errors.New("give --answer and --reference, or --file")
				}
				res := g.GradeAnswer(cmd.Context(), answer, reference)
				if jsonOut {
					return printJSON(out, res)
				}
				_, err := fmt.Fprintln(out, gradedLine(res))
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			enc := json.NewEncoder(out)
			equal, total := 0, 0
			refused, err := g.GradeFile(cmd.Context(), f, file, func(res curate.Graded) error {
				if res.Error != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), res.Error)
				} else {
					total++
					if res.Verdict.Equal {
						equal++
					}
				}
				if jsonOut {
					return enc.Encode(res)
				}
				_, err := fmt.Fprintf(out, "%d\t%s\n", res.Line, gradedLine(res))
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d/%d equal, %d lines refused\n", equal, total, refused)
			if refused > 0 {
				return fmt.Errorf("%s: %d lines refused", file, refused)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&answer, "answer", "", "the answer to grade: bare LaTeX or a whole response in prose")
	cmd.Flags().StringVar(&reference, "reference", "", "the reference answer")
	cmd.Flags().StringVar(&file, "file", "", "JSONL file of {id, answer, reference}; one output line per input line")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print extraction and verdict as JSON")
	cmd.Flags().BoolVar(&sympy, "sympy", false, "fall back on sympy, run in the bubblewrap sandbox, where the built-in parser cannot decide")
	return cmd
}

// gradedLine is one graded pair in words.
func gradedLine(res curate.Graded) string {
	if res.Error != "" {
		return "REFUSED\t" + res.Error
	}
	v := res.Verdict
	verdict := "NOT EQUAL"
	if v.Equal {
		verdict = "EQUAL"
	}
	return fmt.Sprintf("%s by %s (%q by %s vs %q)%s", verdict, v.Method, res.Extracted.Answer, res.Extracted.Rule, res.Reference.Answer, detail(v.Detail))
}

func detail(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func newCurateCmd() *cobra.Command {
	var (
		in, formats                 []string
		outDir, name, system, rules string
		reportPath                  string
		jsonOut, sympy              bool
		fc                          = curate.DefaultFilterConfig()
	)
	cmd := &cobra.Command{
		Use:     "curate",
		Short:   "Hint-RFT: grade, filter, rewrite and export trajectories as an SFT dataset",
		Example: `  hintfleet curate --in hinted.jsonl --plain plain.jsonl --out seed/ --format messages,sharegpt,alpaca,parquet --report seed/report.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(in) == 0 {
				return errors.New("no --in trajectories given")
			}
			g, stop, err := sandboxGrader(sympy)
			if err != nil {
				return err
			}
			defer stop()
			filters, err := fc.Filters(in)
			if err != nil {
				return err
			}
			opt := curate.Options{Inputs: in, OutDir: outDir, Name: name, System: system, Filters: filters, Grader: g}
			for _, f := range formats {
				opt.Formats = append(opt.Formats, curate.Format(f))
			}
			if rules != "" {
				if opt.Rules, err = curate.LoadRules(rules); err != nil {
					return err
				}
			}
			if opt.Kinds, err = curate.ProblemKinds(in); err != nil {
				return err
			}
			rep, err := curate.Run(cmd.Context(), opt)
			if err != nil {
				return err
			}
			if err := curate.WriteReport(outDir, rep); err != nil {
				return err
			}
			if reportPath != "" {
				ri, err := report.Sources{Title: "hintfleet curation", Files: in}.Load()
				if err != nil {
					return err
				}
				ri.Curation = rep
				if err := report.WriteFile(reportPath, ri); err != nil {
					return err
				}
			}

			if jsonOut {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&in, "in", nil, "trajectories files (repeatable)")
	fl.StringVar(&outDir, "out", "dataset", "output folder")
	fl.StringVar(&name, "name", "hintfleet_seed", "dataset name: file prefix and dataset_info.json key")
	fl.StringSliceVar(&formats, "format", []string{"messages", "sharegpt"}, "export formats: messages, sharegpt, alpaca, parquet")
	fl.StringVar(&system, "system", "", "system prompt for every example")
	fl.StringVar(&rules, "rules", "", "rewrite rules file (JSON); default: the built-in rules")
	fl.StringVar(&fc.PlainRun, "plain", "", "a --hints none run of the same problems: keep only problems it got wrong (seed selection)")
	fl.StringVar((*string)(&fc.PlainMissing), "plain-missing", string(curate.PlainMissingRefuse), "problems --plain has no sample of: refuse (stop before writing), keep, or drop")
	fl.StringVar(&reportPath, "report", "", "also write an HTML report here")
	fl.BoolVar(&fc.RequireTool, "require-tool", false, "drop trajectories without a tool call")
	fl.BoolVar(&fc.KeepUngraded, "keep-ungraded", false, "keep trajectories that have no reference answer")
	fl.BoolVar(&jsonOut, "json", false, "print the curation report as JSON")
	fl.BoolVar(&sympy, "sympy", false, "regrade with sympy in the sandbox where needed")
	fl.IntVar(&fc.MaxTokens, "max-tokens", fc.MaxTokens, "drop trajectories longer than this")
	fl.Float64Var(&fc.MaxRepetition, "repetition", fc.MaxRepetition, fmt.Sprintf("drop trajectories whose %d-gram repetition ratio is over this", fc.RepetitionN))
	return cmd
}

func newRFTCmd() *cobra.Command {
	var in, out string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "rft",
		Short: "RFT selection: keep the correct, deduplicated samples and report pass@1, pass@k, maj@k",
		Example: `  hintfleet infer --dataset math500 --hints none --samples 8 --temperature 0.7 --out samples.jsonl
  hintfleet rft --in samples.jsonl --out d_start.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return errors.New("no --in trajectories given")
			}
			res, err := curate.RFTKeep(cmd.Context(), &curate.MathGrader{}, in, out)
			if err != nil {
				return err
			}
			if jsonOut {
				return printJSON(cmd.OutOrStdout(), res)
			}
			s := res.Stats
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "problems %d  k %d  pass@1 %.3f  pass@%d %.3f  maj@%d %.3f  kept %d (dropped %d duplicates)  bad lines %d\n",
				s.Problems, s.K, s.PassAt1, s.K, s.PassAtK, s.K, s.MajAtK, res.Kept, res.Duplicates, len(res.Bad))
			return err
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "sampled trajectories")
	cmd.Flags().StringVar(&out, "out", "d_start.jsonl", "kept trajectories")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newReportCmd() *cobra.Command {
	var (
		src report.Sources
		out string
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write an HTML report with SVG charts: accuracy per dataset, sequential scaling, tool calls, curation funnel",
		Example: `  hintfleet report --run plain=plain.jsonl --run hinted=hinted.jsonl --run rft=rft.jsonl \
    --scaling 0=defer0.jsonl --scaling 1=defer1.jsonl --scaling 2=defer2.jsonl \
    --curation seed/curation.json --out report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := src.Load()
			if err != nil {
				return err
			}
			if err := report.WriteFile(out, in); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "report:", out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&src.Runs, "run", nil, "LABEL=FILE: a run to compare per dataset (repeatable; plain, hinted, rft…)")
	fl.StringSliceVar(&src.Scaling, "scaling", nil, "N=FILE: a run with --defer-stop N, for the sequential-scaling chart (repeatable)")
	fl.StringVar(&src.Curation, "curation", "", "curation.json written by hintfleet curate")
	fl.StringVar(&src.RFT, "rft", "", "JSON from hintfleet rft --json")
	fl.StringVar(&out, "out", "report.html", "the HTML file")
	fl.StringVar(&src.Title, "title", "hintfleet report", "report title")
	return cmd
}
