package main

import (
	"fmt"
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
			in, err := trajectory.InspectArg(cmd.Context(), args[0], dir, format)
			if err != nil {
				return err
			}
			if err := write(cmd.OutOrStdout(), asJSON, in, in.WriteText); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			return in.Err()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&dir, flagDatasetsDir, "", "datasets folder for NAME (default: $"+trajectory.DatasetsEnv+", else the copy in the binary)")
	deprecatedAlias(cmd, "dir", flagDatasetsDir)
	cmd.Flags().StringVar(&format, "format", "", "file format instead of sniffing it (math, gsm8k, humaneval, gpqa, livecodebench)")
	return cmd
}
