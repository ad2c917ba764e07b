package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/infer"
)

// newSummaryCmd compares finished runs side by side from their trajectories
// files, so that a plain and a hinted run (or any others) can be read
// against each other after the fact, without rerunning anything.
func newSummaryCmd() *cobra.Command {
	var (
		jsonOut bool
		runs    []string
	)
	cmd := &cobra.Command{
		Use:   "summary [LABEL=FILE...]",
		Short: "Summarise trajectories files side by side (accuracy, tool calls, hints, tokens, wasted %)",
		Long: `summary reads each trajectories file written by infer (one line at a time, so files of
any size) and prints the infer summary table with one column per LABEL. A bare FILE is
labelled by its name. The runs may also be given as --run LABEL=FILE, as report takes
them. --json prints a list of summaries instead.`,
		Example: "  hintfleet summary plain=out/plain.jsonl hints=out/hints.jsonl\n  hintfleet summary --run plain=out/plain.jsonl --run hints=out/hints.jsonl",
		RunE: func(cmd *cobra.Command, args []string) error {
			runs = append(runs, args...)
			if len(runs) == 0 {
				return errors.New("no runs given: name them as LABEL=FILE arguments or --run LABEL=FILE")
			}
			sums, err := infer.SummarizeAll(runs)
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), jsonOut, sums, func(w io.Writer) error { return infer.WriteTable(w, sums...) })
		},
	}
	cmd.Flags().StringArrayVar(&runs, "run", nil, "LABEL=FILE: a run to summarise (repeatable; as report --run)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the summaries as JSON")
	return cmd
}
