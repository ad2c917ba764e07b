package curate

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints the report for people: the funnel stage by stage, the
// regrading and rewriting counts, the files written and the bad lines.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "input\t%d\n", rep.Funnel.In)
	left := rep.Funnel.In
	for _, st := range rep.Funnel.Stages {
		left -= st.Removed
		fmt.Fprintf(tw, "- %s\t%d\t(%d left)\n", st.Filter, st.Removed, left)
		if st.Note != "" {
			fmt.Fprintf(tw, "  %s\n", st.Note)
		}
	}
	fmt.Fprintf(tw, "kept\t%d\n", rep.Funnel.Kept)
	fmt.Fprintf(tw, "not matching the contract\t%d\n", rep.BadCount)
	fmt.Fprintf(tw, "regraded / changed\t%d / %d\n", rep.Regraded, rep.Flipped)
	fmt.Fprintf(tw, "rewritten\t%d\n", rep.Rewritten)
	for f, p := range rep.Files {
		fmt.Fprintf(tw, "%s\t%s\n", f, p)
	}
	for _, b := range rep.Bad {
		fmt.Fprintf(tw, "bad\t%s:%d: %s\n", b.File, b.Line, b.Err)
	}
	return tw.Flush()
}
