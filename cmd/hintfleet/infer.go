package main

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/curate"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
)

// hintFlags binds the Hint-infer flags shared by infer and submit to a
// hint.Spec, which turns them into a hint.Config (hint.Spec.LocalConfig)
// or a job's hint settings (protocol.NewHintSpec).
type hintFlags struct{ spec hint.Spec }

// register binds the flags; local (infer) also offers files and the
// engine's template, which a job (submit) cannot carry to its workers.
func (f *hintFlags) register(cmd *cobra.Command, local bool) {
	fl, s := cmd.Flags(), &f.spec
	hints, tmpl := "hint library: none, paper, or a library FILE", ", a template FILE, or engine (the served model's own chat template, asked of the engine)"
	if !local {
		hints, tmpl = "hint library: none or paper (a job names built-in ones only)", " (a job names built-in templates only)"
	}
	fl.StringVar(&s.Hints, "hints", hint.HintsPaper, hints)
	fl.StringVar((*string)(&s.Policy.Mode), "trigger-mode", string(hint.TriggerEvery), "which trigger words fire a hint: every, first, prob")
	fl.IntVar(&s.Policy.K, "trigger-k", 1, "with --trigger-mode first: how many triggers fire")
	fl.Float64Var(&s.Policy.P, "trigger-p", 0.5, "with --trigger-mode prob: probability per trigger")
	fl.StringSliceVar(&s.Triggers, "triggers", hint.DefaultTriggers, "trigger words at a sentence start")
	fl.BoolVar(&s.Policy.UntilToolCall, "until-tool-call", true, "fire trigger hints only until the first tool call")
	fl.IntVar(&s.Policy.DeferStop, "defer-stop", 0, "replace the model's stop with a hint N times (sequential test-time scaling)")
	fl.IntVar(&s.MaxToolCalls, "max-tool-calls", hint.DefaultMaxToolCalls, "tool calls per trajectory (0: none)")
	fl.IntVar(&s.MaxTokens, "max-tokens", hint.DefaultMaxTokens, "completion-token budget per trajectory")
	fl.Float64Var(&s.Temperature, "temperature", 0, "sampling temperature (0: greedy, as the paper)")
	fl.Float64Var(&s.TopP, "top-p", 1, "nucleus sampling")
	fl.StringVar(&s.Template, "template", hint.DefaultTemplate, "prompt template: "+strings.Join(hint.BuiltinTemplates(), ", ")+tmpl)
	fl.DurationVar(&s.WallTime, "wall-time", 0, "wall-time budget per trajectory (0: none)")
}

// check refuses flag values a hint.Spec would read as unset
// (hint.Spec.CheckExplicit).
func (f *hintFlags) check(cmd *cobra.Command) error { return f.spec.CheckExplicit(cmd.Flags().Changed) }

func newInferCmd() *cobra.Command {
	var (
		pf      problemFlags
		hf      hintFlags
		plugins host.Source
		setup   infer.Setup
		opt     = infer.Options{Grader: &curate.MathGrader{}}
		apiKey  string
		jsonOut bool
		noTools bool
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "infer",
		Short: "Run Hint-infer on one machine: problems × samples against engines, with sandboxed tools",
		Long: `infer runs START's Hint-infer without a fleet: it streams from the engines given
(spreading trajectories over them), inserts hints, runs the code the model writes through
the tool plugins, and appends one trajectory per line to --out. Rerunning with the same
--out resumes: finished tasks are skipped and nothing is written twice. The run's settings
(model, template, hints, budgets, sampling) are kept in --out.settings.json; a rerun with
other settings is refused unless --force-append. A task whose engine is down moves to
another --engine. The exit status is 0 only when every task is in --out; failed tasks are
in --out.errors.jsonl and a rerun retries them; Ctrl-C stops with status 130.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := hf.check(cmd); err != nil {
				return err
			}
			problems, err := pf.load()
			if err != nil {
				return err
			}
			opt.Logger = warnLogger(cmd)
			if err := opt.Validate(); err != nil {
				return err
			}
			setup.Hint, setup.EngineOptions, setup.Logger = hf.spec, engine.KeyOptions(apiKey, os.Getenv), opt.Logger
			if !noTools {
				setup.Plugins = &plugins
			}
			local, err := setup.Open(ctx)
			if err != nil {
				return err
			}
			defer local.Close()
			var progress io.Writer
			if !quiet && !jsonOut && isTerminal(os.Stderr) {
				progress = cmd.ErrOrStderr()
			}
			sum, err := local.Run(ctx, problems, opt, progress)
			if sum == nil {
				return err
			}
			return errors.Join(write(cmd.OutOrStdout(), jsonOut, sum, sum.WriteText), err)
		},
	}
	pf.register(cmd)
	hf.register(cmd, true)
	fl := cmd.Flags()
	fl.StringSliceVar(&setup.Engines, "engine", nil, "engine base URL (OpenAI-compatible completions); repeatable")
	fl.StringVar(&setup.Model, "model", "", "model name (default: the engine's first model)")
	fl.StringVar(&apiKey, "api-key", "", "engine API key (default: $HINTFLEET_ENGINE_API_KEY; never shown in help or logs)")
	fl.IntVar(&opt.Samples, "samples", 1, "samples per problem")
	fl.IntVar(&opt.Concurrency, "concurrency", infer.DefaultConcurrency, "trajectories in flight")
	fl.StringVar(&opt.Out, "out", "trajectories.jsonl", "trajectories file (resumed if it exists)")
	fl.StringVar(&opt.Label, "label", "", "name of this run in the summary")
	fl.StringVar(&opt.JobID, "job", infer.DefaultJobID, "job id prefixing task ids")
	fl.BoolVar(&jsonOut, "json", false, "print the summary as JSON")
	fl.BoolVar(&noTools, "no-tools", false, "run no tool plugins (code fences stay text)")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.BoolVar(&opt.ForceAppend, "force-append", false, "resume --out even if it was written with other settings (mixing them on purpose)")
	registerPluginSource(cmd, &plugins)
	return cmd
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
