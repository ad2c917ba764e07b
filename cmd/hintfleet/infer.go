package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

func (f *hintFlags) register(cmd *cobra.Command) {
	fl, s := cmd.Flags(), &f.spec
	fl.StringVar(&s.Hints, "hints", hint.HintsPaper, "hint library: none, paper, or a library FILE")
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
	fl.StringVar(&s.Template, "template", hint.DefaultTemplate, "prompt template: "+strings.Join(hint.BuiltinTemplates(), ", ")+", a template FILE, or engine (the served model's own chat template, asked of the engine)")
	fl.DurationVar(&s.WallTime, "wall-time", 0, "wall-time budget per trajectory (0: none)")
}

// check refuses flags set to what a hint.Spec reads as "unset, take the
// default" or ignores, so that an explicit --max-tokens 0 is an error and
// not the default budget (as --samples 0 is); an explicit --max-tool-calls
// 0 means no tool calls, which a Spec spells -1.
func (f *hintFlags) check(cmd *cobra.Command) error {
	fl, s := cmd.Flags(), &f.spec
	var errs []error
	if fl.Changed("max-tokens") && s.MaxTokens < 1 {
		errs = append(errs, fmt.Errorf("--max-tokens %d: want >= 1", s.MaxTokens))
	}
	if fl.Changed("max-tool-calls") {
		switch {
		case s.MaxToolCalls < 0:
			errs = append(errs, fmt.Errorf("--max-tool-calls %d: want >= 0 (0: no tool calls)", s.MaxToolCalls))
		case s.MaxToolCalls == 0:
			s.MaxToolCalls = -1
		}
	}
	if fl.Changed("top-p") && !(s.TopP > 0 && s.TopP <= 1) {
		errs = append(errs, fmt.Errorf("--top-p %v: want 0 < p <= 1", s.TopP))
	}
	if fl.Changed("trigger-k") && s.Policy.K < 1 {
		errs = append(errs, fmt.Errorf("--trigger-k %d: want >= 1", s.Policy.K))
	}
	return errors.Join(errs...)
}

func newInferCmd() *cobra.Command {
	var (
		pf          problemFlags
		hf          hintFlags
		plf         pluginFlags
		engines     []string
		model       string
		apiKey      string
		samples     int
		concurrency int
		out         string
		label       string
		jobID       string
		jsonOut     bool
		noTools     bool
		quiet       bool
		forceAppend bool
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
			spec := hf.spec
			if spec.Template == hint.EngineTemplateName {
				spec.Template = "" // set once the engine is dialled: engineTemplate
			}
			cfg, err := spec.LocalConfig(0)
			if err != nil {
				return fmt.Errorf("hint flags: %w", err)
			}
			opt := infer.Options{
				Label: label, JobID: jobID, Samples: samples, Concurrency: concurrency, Hint: cfg, Out: out,
				Grader: &curate.MathGrader{}, ForceAppend: forceAppend,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			}
			if err := opt.Validate(); err != nil {
				return err
			}
			if len(engines) == 0 {
				return fmt.Errorf("no --engine given")
			}
			clients, skipped, err := infer.DialEngines(ctx, engines, model, engineOptions(apiKey)...)
			if err != nil {
				return err
			}
			for _, err := range skipped {
				opt.Logger.Warn("engine not answering at the start; its tasks go to the others until it does", "err", err)
			}
			eng, err := infer.NewEngines(clients, nil)
			if err != nil {
				return err
			}
			if hf.spec.Template == hint.EngineTemplateName {
				if opt.Hint.Template, err = engineTemplate(ctx, clients[0]); err != nil {
					return err
				}
			}
			set, err := infer.NewSettings(hf.spec, clients[0].Model(), !noTools)
			if err != nil {
				return err
			}
			opt.Settings = &set
			if opt.Label == "" {
				opt.Label = "hints " + hf.spec.Hints
			}
			if !noTools {
				specs, err := plf.specs()
				if err != nil {
					return err
				}
				mgr, err := host.New(ctx, specs, plf.options(cmd.ErrOrStderr())...)
				if err != nil {
					return err
				}
				defer mgr.Close()
				opt.Tools = &infer.Tools{Router: mgr}
			}
			var bar *infer.ProgressBar
			if !quiet && !jsonOut && isTerminal(os.Stderr) {
				bar = infer.NewProgressBar(cmd.ErrOrStderr())
				opt.Progress = bar.Update
			}
			sum, err := infer.Run(ctx, eng, problems, opt)
			if bar != nil {
				bar.Done()
			}
			if sum != nil {
				if jsonOut {
					if jerr := printJSON(cmd.OutOrStdout(), sum); jerr != nil {
						return jerr
					}
				} else {
					if werr := infer.WriteTable(cmd.OutOrStdout(), sum); werr != nil {
						return werr
					}
					fmt.Fprintf(cmd.OutOrStdout(), "trajectories: %s\n", out)
				}
			}
			return err
		},
	}
	pf.register(cmd)
	hf.register(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&engines, "engine", nil, "engine base URL (OpenAI-compatible completions); repeatable")
	fl.StringVar(&model, "model", "", "model name (default: the engine's first model)")
	fl.StringVar(&apiKey, "api-key", "", "engine API key (default: $HINTFLEET_ENGINE_API_KEY; never shown in help or logs)")
	fl.IntVar(&samples, "samples", 1, "samples per problem")
	fl.IntVar(&concurrency, "concurrency", infer.DefaultConcurrency, "trajectories in flight")
	fl.StringVar(&out, "out", "trajectories.jsonl", "trajectories file (resumed if it exists)")
	fl.StringVar(&label, "label", "", "name of this run in the summary")
	fl.StringVar(&jobID, "job", infer.DefaultJobID, "job id prefixing task ids")
	fl.BoolVar(&jsonOut, "json", false, "print the summary as JSON")
	fl.BoolVar(&noTools, "no-tools", false, "run no tool plugins (code fences stay text)")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.BoolVar(&forceAppend, "force-append", false, "resume --out even if it was written with other settings (mixing them on purpose)")
	fl.StringVar(&plf.dir, "plugins-dir", "", "directory of tool plugins with SHA256SUMS (default: plugins/ beside the binary, else ../lib/hintfleet/plugins from it, else ./bin/plugins)")
	fl.StringVar(&plf.config, "plugins-config", "", "plugin list file; overrides --plugins-dir")
	fl.BoolVar(&plf.insecureSkip, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
	return cmd
}

// engineTemplate renders prompts through the served model's own chat
// template (--template engine), checking once that the engine can.
func engineTemplate(ctx context.Context, c *engine.Client) (*hint.Template, error) {
	if _, err := c.RenderChat(ctx, "?"); err != nil {
		return nil, fmt.Errorf("--template engine: %w", err)
	}
	return hint.EngineTemplate(c, nil, nil), nil
}

// engineOptions are the client options the engine flags give: the API key
// from --api-key, else from the environment (read here, not as the flag's
// default, so that --help never prints it).
func engineOptions(apiKey string) []engine.Option {
	if apiKey == "" {
		apiKey = os.Getenv(engine.APIKeyEnv)
	}
	if apiKey == "" {
		return nil
	}
	return []engine.Option{engine.WithAPIKey(apiKey)}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
