package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

func newSubmitCmd() *cobra.Command {
	var (
		af    apiFlags
		hf    hintFlags
		spec  coordinator.JobSpec
		wait  bool
		out   string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "submit [FILE]",
		Short: "Submit a job (a problems file or --dataset NAME) to the coordinator; --wait follows it to the end",
		Long: `submit sends a job: the problems of FILE (checked here first, so a bad line is reported
as FILE:LINE: field …; then sent inline) or of a named dataset the coordinator has,
× --samples, with the hint settings of the flags. It prints the job id (--json: the
job record). With --wait it shows a progress bar until the job ends, prints the
counts and where the trajectories are, and exits non-zero unless the job is done.`,
		Example: "  hintfleet submit --data /tmp/fleet --dataset math500 --limit 50 --samples 2 --wait\n" +
			"  hintfleet submit problems.jsonl --api http://coord:8700 --model qwq-32b --json",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (len(args) == 1) == (spec.Dataset != "") {
				return errors.New("give exactly one of FILE or --dataset NAME")
			}
			if err := hf.check(cmd); err != nil {
				return err
			}
			var err error
			if spec.Hint, err = protocol.NewHintSpec(hf.spec); err != nil {
				return fmt.Errorf("hint flags: %w", err)
			}
			c, found, err := af.c.Client()
			if err != nil {
				return err
			}
			if err := spec.Complete(found, args...); err != nil {
				return err
			}
			j, err := c.Submit(ctx, spec)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !wait {
				coordinator.NewWaitNotes(cmd.ErrOrStderr()).Update(j) // why it waits, if it does
				return write(w, af.jsonOut, j, func(w io.Writer) error { _, err := fmt.Fprintln(w, j.ID); return err })
			}
			bar := !af.jsonOut && !quiet && isTerminal(os.Stderr)
			if j, err = c.FollowOn(ctx, j, spec.Samples, cmd.ErrOrStderr(), !af.jsonOut, bar, out); err != nil {
				return err
			}
			if err := write(w, af.jsonOut, j, func(w io.Writer) error { return coordinator.WriteFollowed(w, j, found.Data, out) }); err != nil {
				return err
			}
			return j.EndErr()
		},
	}
	af.register(cmd)
	hf.register(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&spec.Dataset, "dataset", "", "named dataset ("+strings.Join(trajectory.DatasetNames(), "|")+") as the coordinator has it")
	fl.IntVar(&spec.Limit, "limit", 0, "first N problems only (0: all)")
	fl.IntVar(&spec.Samples, "samples", 1, "samples per problem (k)")
	fl.StringVar(&spec.Model, "model", "", "model, and so the worker pool (default: the model of the fleet's endpoints.json, else the one model the live workers serve)")
	fl.BoolVar(&spec.WaitForWorker, "wait-for-worker", false, "accept the job even when no live worker serves --model (it waits for one); without it such a job is refused while other workers are registered")
	fl.StringVar(&spec.ID, "id", "", "job id (default: chosen by the coordinator)")
	fl.IntVar(&spec.Priority, "priority", 0, "priority class (higher runs first)")
	fl.Float64Var(&spec.Weight, "weight", 0, "fair-share weight within the priority class (0: 1)")
	fl.IntVar(&spec.MaxInFlight, "max-in-flight", 0, "cap on this job's dispatched, unfinished tasks (0: none)")
	fl.BoolVar(&wait, "wait", false, "wait until the job ends, with a progress bar")
	fl.StringVar(&out, "out", "", "with --wait: download the trajectories to this file")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

func newStatusCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "status [JOB]",
		Short: "Show one job (its id, or a prefix of exactly one id), or the coordinator's health and every job",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, found, err := af.c.Client()
			if err != nil {
				return err
			}
			base := found.API
			w := cmd.OutOrStdout()
			if len(args) == 1 {
				id, err := c.ResolveJob(ctx, args[0])
				if err != nil {
					return err
				}
				j, err := c.Get(ctx, id)
				if err != nil {
					return err
				}
				return write(w, af.jsonOut, j, func(w io.Writer) error { return coordinator.WriteJob(w, j) })
			}
			st, err := c.Status(ctx, base)
			if err != nil {
				return err
			}
			return write(w, af.jsonOut, st, st.WriteText)
		},
	}
	af.register(cmd)
	return cmd
}

func newJobsCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List every job with its state and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := af.c.Client()
			if err != nil {
				return err
			}
			jobs, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), af.jsonOut, jobs, func(w io.Writer) error { return coordinator.WriteJobs(w, jobs) })
		},
	}
	af.register(cmd)
	return cmd
}

func newCancelCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a job (its id, or a prefix of exactly one id): pending tasks are purged, running ones stopped, results in flight dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := af.c.Client()
			if err != nil {
				return err
			}
			id, err := c.ResolveJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			j, err := c.Cancel(cmd.Context(), id)
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), af.jsonOut, j, func(w io.Writer) error { return coordinator.WriteState(w, j) })
		},
	}
	af.register(cmd)
	return cmd
}
