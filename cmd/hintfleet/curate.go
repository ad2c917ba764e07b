package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/report"
)

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
			g, stop, err := curate.NewMathGrader(sympy)
			if err != nil {
				return err
			}
			defer stop()
			if file != "" {
				return g.WriteGradedPath(cmd.Context(), file, cmd.OutOrStdout(), cmd.ErrOrStderr(), jsonOut)
			}
			if !cmd.Flags().Changed("answer") || !cmd.Flags().Changed("reference") {
				return errors.New("give --answer and --reference, or --file")
			}
			res := g.GradeAnswer(cmd.Context(), answer, reference)
			return write(cmd.OutOrStdout(), jsonOut, res, res.WriteText)
		},
	}
	cmd.Flags().StringVar(&answer, "answer", "", "the answer to grade: bare LaTeX or a whole response in prose")
	cmd.Flags().StringVar(&reference, "reference", "", "the reference answer")
	cmd.Flags().StringVar(&file, "file", "", "JSONL file of {id, answer, reference}; one output line per input line")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print extraction and verdict as JSON")
	cmd.Flags().BoolVar(&sympy, "sympy", false, "fall back on sympy, run in the bubblewrap sandbox, where the built-in parser cannot decide")
	return cmd
}

func newCurateCmd() *cobra.Command {
	var (
		p          = curate.Plan{Filter: curate.DefaultFilterConfig()}
		reportPath string
		jsonOut    bool
	)
	cmd := &cobra.Command{
		Use:     "curate",
		Short:   "Hint-RFT: grade, filter, rewrite and export trajectories as an SFT dataset",
		Example: `  hintfleet curate --in hinted.jsonl --plain plain.jsonl --out seed/ --format messages,sharegpt,alpaca,parquet --report seed/report.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := p.Run(cmd.Context())
			if err != nil {
				return err
			}
			if reportPath != "" {
				if err := report.WriteCuration(reportPath, p.Inputs, rep); err != nil {
					return err
				}
			}
			return write(cmd.OutOrStdout(), jsonOut, rep, rep.WriteText)
		},
	}
	fl, fc := cmd.Flags(), &p.Filter
	fl.StringSliceVar(&p.Inputs, "in", nil, "trajectories files (repeatable)")
	fl.StringVar(&p.OutDir, "out", "dataset", "output folder")
	fl.StringVar(&p.Name, "name", "hintfleet_seed", "dataset name: file prefix and dataset_info.json key")
	fl.StringSliceVar(&p.Formats, "format", []string{"messages", "sharegpt"}, "export formats: messages, sharegpt, alpaca, parquet")
	fl.StringVar(&p.System, "system", "", "system prompt for every example")
	fl.StringVar(&p.RulesFile, "rules", "", "rewrite rules file (JSON); default: the built-in rules")
	fl.StringVar(&fc.PlainRun, "plain", "", "a --hints none run of the same problems: keep only problems it got wrong (seed selection)")
	fl.StringVar((*string)(&fc.PlainMissing), "plain-missing", string(curate.PlainMissingRefuse), "problems --plain has no sample of: refuse (stop before writing), keep, or drop")
	fl.StringVar(&reportPath, "report", "", "also write an HTML report here")
	fl.BoolVar(&fc.RequireTool, "require-tool", false, "drop trajectories without a tool call")
	fl.BoolVar(&fc.KeepUngraded, "keep-ungraded", false, "keep trajectories that have no reference answer")
	fl.BoolVar(&jsonOut, "json", false, "print the curation report as JSON")
	fl.BoolVar(&p.Sympy, "sympy", false, "regrade with sympy in the sandbox where needed")
	fl.IntVar(&fc.MaxTokens, "max-tokens", fc.MaxTokens, "drop trajectories longer than this")
	fl.Float64Var(&fc.MaxRepetition, "repetition", fc.MaxRepetition, fmt.Sprintf("drop trajectories whose %d-gram repetition ratio is over this", fc.RepetitionN))
	return cmd
}

func newRFTCmd() *cobra.Command {
	var (
		ins     []string
		out     string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "rft",
		Short: "RFT selection: keep the correct, deduplicated samples and report pass@1, pass@k, maj@k",
		Example: `  hintfleet infer --dataset math500 --hints none --samples 8 --temperature 0.7 --out samples.jsonl
  hintfleet rft --in samples.jsonl --out d_start.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(ins) == 0 {
				return errors.New("no --in trajectories given")
			}
			res, err := curate.RFTKeep(cmd.Context(), &curate.MathGrader{}, ins, out)
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), jsonOut, res, res.WriteText)
		},
	}
	cmd.Flags().StringSliceVar(&ins, "in", nil, "sampled trajectories files (repeatable, read as one set, as curate's --in)")
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
