package trajectory

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints the inspection for people: the counts, a table of
// fields and their JSON types, and the bad lines listed as FILE:LINE.
func (in *Inspection) WriteText(w io.Writer) error {
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

// Err is the inspection's verdict, for a command's exit status: an error
// that counts the bad lines, or nil when there are none. The report says
// which lines they are.
func (in *Inspection) Err() error {
	if in.ErrorCount > 0 {
		return fmt.Errorf("%s: %d bad lines", in.File, in.ErrorCount)
	}
	return nil
}
