package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/trajectory"
)

// newDatasetsCmd groups the dataset tools.
func newDatasetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "Inspect benchmark datasets (" + strings.Join(trajectory.DatasetNames(), ", ") + ") and JSONL problem files",
	}
	cmd.AddCommand(newDatasetsInspectCmd())
	return cmd
}

func newDatasetsInspectCmd() *cobra.Command {
	var (
		asJSON bool
		dir    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE|NAME",
		Short: "Show a dataset's rows, fields, answer types, format and bad lines",
		Long: "inspect reads a JSONL problem file (or a named dataset: " + strings.Join(trajectory.DatasetNames(), ", ") +
			") to the end, past bad lines, and reports what it holds. It exits non-zero when any line is bad.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := inspectTarget(cmd.Context(), args[0], dir, format)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := printJSON(out, in); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			} else if err := in.WriteText(out); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if in.ErrorCount > 0 {
				return fmt.Errorf("%s: %d bad lines", in.File, in.ErrorCount)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&dir, "dir", "", "datasets folder for NAME (default: $"+trajectory.DatasetsEnv+", else the copy in the binary)")
	cmd.Flags().StringVar(&format, "format", "", "file format instead of sniffing it (math, gsm8k, humaneval, gpqa, livecodebench)")
	return cmd
}

// inspectTarget inspects an existing file as a file, else a known dataset
// name.
func inspectTarget(ctx context.Context, arg, dir, format string) (*trajectory.Inspection, error) {
	var opts []trajectory.LoadOption
	if format != "" {
		opts = append(opts, trajectory.WithFormat(trajectory.Format(format)))
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return trajectory.Inspect(ctx, arg, opts...)
	}
	if !trajectory.IsDatasetName(arg) {
		return nil, fmt.Errorf("inspect %s: not a file, and %w (known: %s)",
			arg, trajectory.ErrUnknownDataset, strings.Join(trajectory.DatasetNames(), ", "))
	}
	return trajectory.InspectDataset(ctx, arg, dir, opts...)
}
