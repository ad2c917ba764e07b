package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

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
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(in); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			} else if err := printInspection(out, in); err != nil {
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

func printInspection(w io.Writer, in *trajectory.Inspection) error {
	format := string(in.Format)
	if format == "" {
		format = "unknown"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if in.Embedded {
		fmt.Fprintf(tw, "file:\t%s (the copy in the binary)\n", in.File)
	} else {
		fmt.Fprintf(tw, "file:\t%s\n", in.File)
	}
	fmt.Fprintf(tw, "dataset:\t%s\n", in.Dataset)
	fmt.Fprintf(tw, "format:\t%s\n", format)
	fmt.Fprintf(tw, "lines:\t%d\n", in.Lines)
	fmt.Fprintf(tw, "rows:\t%d\n", in.Rows)
	fmt.Fprintf(tw, "problems:\t%d\n", in.Problems)
	if in.AnswerField != "" {
		fmt.Fprintf(tw, "answer types (%s):\t%s\n", in.AnswerField, typeCounts(in.AnswerTypes))
	}
	fmt.Fprintf(tw, "\nfield\tcount\ttypes\n")
	for _, f := range in.Fields {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", f.Name, f.Count, typeCounts(f.Types))
	}
	fmt.Fprintf(tw, "\nerrors:\t%d\n", in.ErrorCount)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range in.Errors {
		if e.Field != "" {
			fmt.Fprintf(w, "  %s:%d: field %q: %s\n", in.File, e.Line, e.Field, e.Message)
		} else {
			fmt.Fprintf(w, "  %s:%d: %s\n", in.File, e.Line, e.Message)
		}
	}
	if more := in.ErrorCount - len(in.Errors); more > 0 {
		_, err := fmt.Fprintf(w, "  … and %d more\n", more)
		return err
	}
	return nil
}

// typeCounts renders {"string": 3, "number": 2} as "number 2, string 3".
func typeCounts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
