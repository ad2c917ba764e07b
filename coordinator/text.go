package coordinator

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJob prints one job as aligned "field value" lines, for people.
func WriteJob(w io.Writer, j Job) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	src := j.Spec.Dataset
	if src == "" {
		src = "inline"
	}
	c := j.Counts
	fmt.Fprintf(tw, "job\t%s\n", j.ID)
	fmt.Fprintf(tw, "state\t%s\n", j.State)
	fmt.Fprintf(tw, "model\t%s\n", j.Spec.Model)
	fmt.Fprintf(tw, "problems\t%d (%s) × %d samples\n", j.Problems, src, max(j.Spec.Samples, 1))
	fmt.Fprintf(tw, "tasks\t%d\n", c.Tasks)
	fmt.Fprintf(tw, "dispatched\t%d\n", c.Dispatched)
	fmt.Fprintf(tw, "in flight\t%d\n", c.InFlight)
	fmt.Fprintf(tw, "written\t%d\n", c.Done)
	fmt.Fprintf(tw, "dead-lettered\t%d\n", c.DeadLettered)
	fmt.Fprintf(tw, "tokens\t%d\n", c.Tokens)
	fmt.Fprintf(tw, "created\t%s\n", j.Created.Format(time.RFC3339))
	fmt.Fprintf(tw, "updated\t%s\n", j.Updated.Format(time.RFC3339))
	if j.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", j.Error)
	}
	return tw.Flush()
}

// WriteJobs prints jobs as a table, one row each, for people.
func WriteJobs(w io.Writer, jobs []Job) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tMODEL\tTASKS\tWRITTEN\tDEAD\tIN FLIGHT\tTOKENS\tCREATED")
	for _, j := range jobs {
		c := j.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", j.ID, j.State, j.Spec.Model, c.Tasks, c.Done,
			c.DeadLettered, c.InFlight, c.Tokens, j.Created.Local().Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}

// ProgressBar redraws one line of a job's progress on a terminal; Update
// is Wait's onUpdate. Not safe for concurrent use.
type ProgressBar struct {
	w     io.Writer
	start time.Time
}

// NewProgressBar returns a bar drawing on w, timing from now.
func NewProgressBar(w io.Writer) *ProgressBar { return &ProgressBar{w: w, start: time.Now()} }

// Update redraws the bar for j, ending the line once j is terminal.
func (b *ProgressBar) Update(j Job) {
	const width = 30
	c := j.Counts
	ended := c.Done + c.DeadLettered
	filled := 0
	if c.Tasks > 0 {
		filled = min(width, width*ended/c.Tasks)
	}
	el := time.Since(b.start).Seconds()
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d  %-9s in flight %d  dead %d  %6.0f tok/s ",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled), ended, c.Tasks, j.State,
		c.InFlight, c.DeadLettered, float64(c.Tokens)/max(el, 1e-3))
	if j.State.Terminal() {
		fmt.Fprintln(b.w)
	}
}
