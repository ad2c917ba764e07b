package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Defaults for Options.
const (
	DefaultJobID       = "infer"
	DefaultConcurrency = 8
)

// Options configure one infer run.
type Options struct {
	// Label names the run in summaries ("hints", "plain").
	Label string
	// JobID prefixes task ids; a rerun must use the same one to resume.
	// Empty means DefaultJobID.
	JobID string
	// Samples is how many trajectories each problem gets; at least 1.
	Samples int
	// Concurrency is how many trajectories run at once; at least 1
	// (DefaultConcurrency is the CLI's default).
	Concurrency int
	Hint        hint.Config
	// Tools runs code fences; nil runs no tool calls.
	Tools hint.Tool
	// Out is the trajectories file. Tasks already in it are skipped, so a
	// rerun with the same Out resumes. Failed tasks go to ErrorsPath(Out)
	// and run again next time.
	Out string
	// Grader regrades math answers against the reference; nil uses hint's
	// basic check only.
	Grader *curate.MathGrader
	// Settings, when set, are recorded beside Out (SettingsPath) on the
	// first run and checked on every rerun: a rerun with other settings is
	// refused before anything runs, unless ForceAppend. nil records and
	// checks nothing, for callers that own their output files.
	Settings *Settings
	// ForceAppend resumes Out whatever settings it was written with,
	// adding this run's to the record as mixed in on purpose.
	ForceAppend bool
	// Progress is called after each finished or failed task, from one
	// goroutine at a time, with a copy of the summary it may keep.
	Progress func(Summary)
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ErrInvalidOptions wraps every problem Options.Validate reports.
var ErrInvalidOptions = errors.New("infer: invalid options")

// Validate reports every problem with o, joined, each wrapping
// ErrInvalidOptions. A count that is not set is a problem, not a default:
// a caller that forgot it learns so instead of running something else.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...)))
	}
	if o.Samples < 1 {
		bad("samples %d: want >= 1", o.Samples)
	}
	if o.Concurrency < 1 {
		bad("concurrency %d: want >= 1", o.Concurrency)
	}
	if o.Out == "" {
		bad("no output file")
	}
	return errors.Join(errs...)
}

// Run runs every problem × sample not already in opt.Out and returns the
// summary of the whole output file (resumed tasks included), and an error
// unless every task is in the output: ErrTasksFailed when some failed (they
// are in Out's errors file and run again on resume), ErrInterrupted when
// ctx ended first, ErrSettingsChanged (a *SettingsError) before anything
// runs when opt.Settings differ from those Out was written with. Options
// that fail Validate are its error before anything runs.
func Run(ctx context.Context, eng *Engines, problems []trajectory.Problem, opt Options) (*Summary, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if len(problems) == 0 {
		return nil, ErrNoProblems
	}
	if opt.JobID == "" {
		opt.JobID = DefaultJobID
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	sum := newSummary(opt.Label, opt.Out)
	done, err := resume(opt.Out, sum)
	if err != nil {
		return nil, err
	}
	if opt.Settings != nil {
		set := *opt.Settings
		set.JobID = opt.JobID
		note, err := checkSettings(opt.Out, set, len(done), opt.ForceAppend)
		if err != nil {
			return nil, err
		}
		if note != "" {
			opt.Logger.Warn(note)
		}
	}
	out, err := trajectory.OpenWriter(opt.Out)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	defer out.Close()
	errPath := ErrorsPath(opt.Out)
	os.Remove(errPath) // failures of an earlier run are retried now
	var errOut *trajectory.Writer

	start := opt.Now()
	var (
		mu        sync.Mutex // guards sum, errOut, fails and ran; todo is the loop's
		fails     failures
		todo, ran int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Concurrency)
	total := len(problems) * opt.Samples
	sum.Total = total
	for _, p := range problems {
		for s := 0; s < opt.Samples; s++ {
			id := trajectory.TaskID(opt.JobID, p.Key(), s)
			if done[id] {
				continue
			}
			todo++
			if gctx.Err() != nil {
				continue
			}
			g.Go(func() error {
				tr, runErr := runOne(gctx, eng, p, s, id, opt)
				mu.Lock()
				defer mu.Unlock()
				if runErr != nil {
					if gctx.Err() != nil {
						return nil // cancelled: the task runs again on resume
					}
					opt.Logger.Debug("task failed", "task", id, "err", runErr) // Run's error sums them up
					sum.Errors++
					fails.add(tr.Error)
					if errOut == nil {
						var err error
						if errOut, err = trajectory.OpenWriter(errPath); err != nil {
							return fmt.Errorf("infer: %w", err)
						}
					}
					if err := errOut.Append(tr); err != nil {
						return fmt.Errorf("infer: task %s: %w", id, err)
					}
				} else {
					if err := out.Append(tr); err != nil {
						return fmt.Errorf("infer: task %s: %w", id, err)
					}
					sum.add(&tr, true)
					ran++
				}
				sum.Elapsed = opt.Now().Sub(start)
				if opt.Progress != nil {
					snap := *sum
					snap.FinishReasons = maps.Clone(sum.FinishReasons)
					opt.Progress(snap)
				}
				return nil
			})
		}
	}
	err = g.Wait()
	sum.Elapsed = opt.Now().Sub(start)
	if errOut != nil {
		if cerr := errOut.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = outcome(ctx, sum, todo, ran, &fails, errPath)
	}
	return sum, err
}

// runOne runs one task to a trajectory, on the engine Engines picks, and on
// another (from scratch) when that engine turns out down (engineDown), each
// engine at most once. On failure the trajectory holds what the last
// engine generated, with the error.
func runOne(ctx context.Context, eng *Engines, p trajectory.Problem, sample int, id string, opt Options) (trajectory.Trajectory, error) {
	tried := map[int]bool{}
	for attempt := 1; ; attempt++ {
		gen, i := eng.pick(tried)
		tr, err := runOn(ctx, gen, p, sample, id, opt)
		tr.Attempt = attempt
		if err == nil {
			eng.markUp(gen)
			return tr, nil
		}
		if !engineDown(ctx, err) {
			return tr, err
		}
		if eng.markDown(gen) {
			opt.Logger.Warn("engine down: new tasks go to the other engines for a while", "engine", gen.Client.BaseURL(),
				"for", DownFor, "err", err)
		}
		tried[i] = true
		if len(tried) == eng.Len() {
			return tr, err
		}
	}
}

// runOn runs one task on gen.
func runOn(ctx context.Context, gen Generator, p trajectory.Problem, sample int, id string, opt Options) (trajectory.Trajectory, error) {
	cfg := opt.Hint
	cfg.Seed = int64(sample)
	if cfg.Temperature > 0 && cfg.SampleSeed == nil {
		seed := int64(sample)
		cfg.SampleSeed = &seed
	}
	var sess hint.ToolSession
	if opt.Tools != nil {
		var err error
		if sess, err = opt.Tools.Open(ctx, id); err != nil {
			return trajectory.Trajectory{TaskID: id, JobID: opt.JobID, ProblemID: p.ID, Dataset: p.Dataset, Sample: sample,
				FinishReason: trajectory.FinishError, Error: err.Error()}, fmt.Errorf("task %s: %w", id, err)
		}
		defer sess.Close(context.WithoutCancel(ctx))
	}
	tr, err := hint.Run(ctx, gen, sess, p, cfg)
	tr.TaskID, tr.JobID, tr.Sample = id, opt.JobID, sample
	tr.ProblemID, tr.Dataset, tr.Question = p.ID, p.Dataset, p.Question
	tr.Engine = trajectory.EngineRef{URL: gen.Client.BaseURL(), Model: gen.Client.Model()}
	if err != nil {
		if tr.Error == "" {
			tr.Error = err.Error()
		}
		return tr, fmt.Errorf("task %s: %w", id, err)
	}
	if opt.Grader != nil && p.Answer != "" && p.Kind != trajectory.KindCode {
		opt.Grader.GradeTrajectory(ctx, &tr, p.Answer)
	}
	return tr, nil
}

// resumeID is the task id t has under today's naming, computed from its
// job, dataset, problem and sample rather than read from its task_id: files
// written before task ids carried the dataset ("infer/0/0" for AMC 2023's
// problem 0, now "infer/amc23/0/0") resume as if written today. A record
// without those fields keeps the id it was written with.
func resumeID(t *trajectory.Trajectory) string {
	if t.JobID == "" || t.ProblemID == "" {
		return t.TaskID
	}
	return trajectory.TaskID(t.JobID, t.ProblemKey(), t.Sample)
}

// resume reads the tasks already in path into done and the summary.
func resume(path string, sum *Summary) (map[string]bool, error) {
	done := map[string]bool{}
	r, err := trajectory.OpenReader[trajectory.Trajectory](path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("infer: resume: %w", err)
	}
	defer r.Close()
	for {
		t, err := r.Next()
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			// A torn last line is repaired by OpenWriter; anything else in
			// our own output is a reason to stop, not to guess.
			var pe *trajectory.ParseError
			if errors.As(err, &pe) && pe.Line > 0 {
				return nil, fmt.Errorf("infer: resume from %w (fix or move the file)", err)
			}
			return nil, fmt.Errorf("infer: resume: %w", err)
		}
		id := resumeID(&t)
		if done[id] {
			continue
		}
		done[id] = true
		sum.add(&t, false)
		sum.Skipped++
	}
}
