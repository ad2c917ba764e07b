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
	fmt.Fprintf(tw, "queued\t%d\n", c.Queued)
	fmt.Fprintf(tw, "running\t%d\n", c.Running)
	fmt.Fprintf(tw, "written\t%d\n", c.Done)
	fmt.Fprintf(tw, "dead-lettered\t%d\n", c.DeadLettered)
	fmt.Fprintf(tw, "tokens\t%d\n", c.Tokens)
	fmt.Fprintf(tw, "tokens/s\t%.1f (last minute)\n", c.TokensPerSec)
	if j.Waiting != "" {
		fmt.Fprintf(tw, "waiting\t%s\n", j.Waiting)
	}
	fmt.Fprintf(tw, "created\t%s\n", j.Created.Format(time.RFC3339))
	fmt.Fprintf(tw, "updated\t%s\n", j.Updated.Format(time.RFC3339))
	if j.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", j.Error)
	}
	return tw.Flush()
}

// WriteJobs prints jobs as a table, one row each, for people; the ids are
// whole, so that any of them can be copied into cancel or status.
func WriteJobs(w io.Writer, jobs []Job) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tMODEL\tTASKS\tQUEUED\tRUNNING\tWRITTEN\tDEAD\tTOKENS\tTOK/S\tCREATED")
	for _, j := range jobs {
		c := j.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\n", j.ID, j.State, j.Spec.Model, c.Tasks, c.Queued, c.Running,
			c.Done, c.DeadLettered, c.Tokens, c.TokensPerSec, j.Created.Local().Format("2006-01-02 15:04:05"))
	}
	for _, j := range jobs {
		if j.Waiting != "" {
			fmt.Fprintf(tw, "%s: %s\n", j.ID, j.Waiting)
		}
	}
	return tw.Flush()
}

// ProgressBar redraws one line of a job's progress on a terminal; Update
// is Wait's onUpdate. Not safe for concurrent use.
type ProgressBar struct {
	w       io.Writer
	start   time.Time
	waiting WaitNotes
}

// NewProgressBar returns a bar drawing on w, timing from now.
func NewProgressBar(w io.Writer) *ProgressBar {
	return &ProgressBar{w: w, start: time.Now(), waiting: WaitNotes{w: w, prefix: "\r\x1b[K"}}
}

// Update redraws the bar for j, ending the line once j is terminal. A new
// reason to wait is printed on a line of its own above the bar.
func (b *ProgressBar) Update(j Job) {
	const width = 30
	b.waiting.Update(j)
	c := j.Counts
	ended := c.Done + c.DeadLettered
	filled := 0
	if c.Tasks > 0 {
		filled = min(width, width*ended/c.Tasks)
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d  %-9s queued %d  running %d  dead %d  %6.0f tok/s ",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled), ended, c.Tasks, j.State,
		c.Queued, c.Running, c.DeadLettered, c.TokensPerSec)
	if j.State.Terminal() {
		fmt.Fprintln(b.w)
	}
}

// WaitNotes prints a job's reason to wait (Job.Waiting) each time it
// changes, one line each: `submit --wait` without a terminal says what it
// waits for instead of waiting without a word. Update is Wait's onUpdate.
type WaitNotes struct {
	w      io.Writer
	prefix string
	last   string
}

// NewWaitNotes returns notes written to w.
func NewWaitNotes(w io.Writer) *WaitNotes { return &WaitNotes{w: w} }

// Update prints j's reason to wait when it differs from the last one.
func (n *WaitNotes) Update(j Job) {
	if j.Waiting == n.last {
		return
	}
	n.last = j.Waiting
	if j.Waiting == "" {
		fmt.Fprintf(n.w, "%sjob %s: a worker took it\n", n.prefix, j.ID)
		return
	}
	fmt.Fprintf(n.w, "%sjob %s: %s\n", n.prefix, j.ID, j.Waiting)
}
