package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

// client builds the coordinator client of the fleet the flags point at.
func (f *apiFlags) client() (*coordinator.Client, cluster.Fleet, error) {
	fl, token, err := f.resolve()
	if err != nil {
		return nil, fl, err
	}
	hc, err := apiHTTPClient(f.ca, f.cert, f.key)
	if err != nil {
		return nil, fl, err
	}
	opts := []coordinator.ClientOption{coordinator.WithSource(fl.From)}
	if token != "" {
		opts = append(opts, coordinator.WithToken(token))
	}
	c, err := coordinator.NewClient(fl.API, hc, opts...)
	if err != nil {
		return nil, fl, fmt.Errorf("%s: %w", fl.From, err)
	}
	return c, fl, nil
}

func newSubmitCmd() *cobra.Command {
	var (
		af          apiFlags
		hf          hintFlags
		dataset     string
		limit       int
		samples     int
		model       string
		id          string
		priority    int
		weight      float64
		maxInFlight int
		waitWorker  bool
		wait        bool
		out         string
		quiet       bool
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
			if (len(args) == 1) == (dataset != "") {
				return errors.New("give exactly one of FILE or --dataset NAME")
			}
			if err := hf.check(cmd); err != nil {
				return err
			}
			h, err := protocol.NewHintSpec(hf.spec)
			if err != nil {
				return fmt.Errorf("hint flags: %w", err)
			}
			c, found, err := af.client()
			if err != nil {
				return err
			}
			if model == "" {
				model = found.Endpoints.Model // else the coordinator picks its workers' one model
			}
			spec := coordinator.JobSpec{ID: id, Model: model, WaitForWorker: waitWorker, Dataset: dataset, Limit: limit, Samples: samples,
				Hint: h, Priority: priority, Weight: weight, MaxInFlight: maxInFlight}
			if len(args) == 1 {
				// Check here so errors name the user's file, not the upload.
				if _, err := trajectory.LoadFile(args[0]); err != nil {
					return err
				}
				b, err := os.ReadFile(args[0])
				if err != nil {
					return fmt.Errorf("read problems: %w", err)
				}
				spec.ProblemsJSONL = string(b)
			}
			if err := spec.Validate(); err != nil {
				return err
			}
			j, err := c.Submit(ctx, spec)
			if err != nil {
				return err
			}
			if !wait {
				if j.Waiting != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "job %s: %s\n", j.ID, j.Waiting)
				}
				if af.jsonOut {
					return printJSON(cmd.OutOrStdout(), j)
				}
				fmt.Fprintln(cmd.OutOrStdout(), j.ID)
				return nil
			}
			if !af.jsonOut {
				fmt.Fprintf(cmd.ErrOrStderr(), "job %s: %d problems × %d samples = %d tasks\n", j.ID, j.Problems, max(samples, 1), j.Counts.Tasks)
			}
			// Without a bar, say at least why the job waits, when it does.
			onUpdate := coordinator.NewWaitNotes(cmd.ErrOrStderr()).Update
			if !quiet && !af.jsonOut && isTerminal(os.Stderr) {
				onUpdate = coordinator.NewProgressBar(cmd.ErrOrStderr()).Update
			}
			if j, err = c.Wait(ctx, j.ID, onUpdate); err != nil {
				return err
			}
			if out != "" {
				if err := c.Download(ctx, j.ID, out); err != nil {
					return err
				}
			}
			if af.jsonOut {
				if err := printJSON(cmd.OutOrStdout(), j); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "job %s %s: %d tasks, %d written, %d dead-lettered, %d queued, %d running, %d completion tokens\n",
					j.ID, j.State, j.Counts.Tasks, j.Counts.Done, j.Counts.DeadLettered, j.Counts.Queued, j.Counts.Running, j.Counts.Tokens)
				if found.Data != "" {
					dir, _ := filepath.Abs(filepath.Join(found.Data, "jobs", j.ID))
					fmt.Fprintf(w, "trajectories: %s\n", filepath.Join(dir, coordinator.TrajectoriesFile))
					fmt.Fprintf(w, "dead letters: %s\n", filepath.Join(dir, coordinator.DeadLettersFile))
				}
				if out != "" {
					fmt.Fprintf(w, "downloaded: %s\n", out)
				}
			}
			if j.State != coordinator.JobDone {
				return fmt.Errorf("job %s ended %s %s", j.ID, j.State, j.Error)
			}
			return nil
		},
	}
	af.register(cmd)
	hf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&dataset, "dataset", "", "named dataset ("+strings.Join(trajectory.DatasetNames(), "|")+") as the coordinator has it")
	fl.IntVar(&limit, "limit", 0, "first N problems only (0: all)")
	fl.IntVar(&samples, "samples", 1, "samples per problem (k)")
	fl.StringVar(&model, "model", "", "model, and so the worker pool (default: the model of the fleet's endpoints.json, else the one model the live workers serve)")
	fl.BoolVar(&waitWorker, "wait-for-worker", false, "accept the job even when no live worker serves --model (it waits for one); without it such a job is refused while other workers are registered")
	fl.StringVar(&id, "id", "", "job id (default: chosen by the coordinator)")
	fl.IntVar(&priority, "priority", 0, "priority class (higher runs first)")
	fl.Float64Var(&weight, "weight", 0, "fair-share weight within the priority class (0: 1)")
	fl.IntVar(&maxInFlight, "max-in-flight", 0, "cap on this job's dispatched, unfinished tasks (0: none)")
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
			c, found, err := af.client()
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
				if af.jsonOut {
					return printJSON(w, j)
				}
				return coordinator.WriteJob(w, j)
			}
			health, herr := c.Health(ctx)
			jobs, err := c.List(ctx)
			if err != nil {
				return errors.Join(herr, err)
			}
			if af.jsonOut {
				return printJSON(w, map[string]any{"api": base, "health": health, "jobs": jobs})
			}
			if herr != nil {
				fmt.Fprintf(w, "coordinator %s: %v\n", base, herr)
			} else {
				fmt.Fprintf(w, "coordinator %s: ok, leader here: %v\n", base, health["leader"])
			}
			return coordinator.WriteJobs(w, jobs)
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
			c, _, err := af.client()
			if err != nil {
				return err
			}
			jobs, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			if af.jsonOut {
				return printJSON(cmd.OutOrStdout(), jobs)
			}
			return coordinator.WriteJobs(cmd.OutOrStdout(), jobs)
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
			c, _, err := af.client()
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
			if af.jsonOut {
				return printJSON(cmd.OutOrStdout(), j)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s %s\n", j.ID, j.State)
			return nil
		},
	}
	af.register(cmd)
	return cmd
}
