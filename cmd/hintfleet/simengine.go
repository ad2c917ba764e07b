package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/trajectory"
)

// newSimEngineCmd runs the simulated vLLM server (engine/sim) so that demos
// and tests have an engine on machines without a GPU.
func newSimEngineCmd() *cobra.Command {
	cfg := sim.DefaultConfig()
	var (
		listen, dialect string
		problems        trajectory.Sources
	)
	cmd := &cobra.Command{
		Use:   "sim-engine",
		Short: "Serve a simulated engine (no GPU, scripted answers) on an OpenAI-compatible API",
		Long: "sim-engine serves /v1/completions, /v1/models, /health, /metrics and the tokenizer routes as\n" +
			"the engine named by --dialect does (vllm: the current release; vllm-0.9, sglang, llamacpp, tgi), with a\n" +
			"simulated GPU time model and a scripted reasoner that KNOWS the reference answers of the\n" +
			"problems given with --problems (dataset names or problem files).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := sim.ParseDialect(dialect)
			if err != nil {
				return fmt.Errorf("sim-engine: --dialect: %w", err)
			}
			cfg.Dialect = d
			if cfg.Problems, err = problems.Load(); err != nil {
				return fmt.Errorf("sim-engine: %w", err)
			}
			if err := sim.Run(cmd.Context(), cfg, listen, cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("sim-engine: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8000", "address to listen on (port 0 picks one)")
	f.StringSliceVar(&problems.Datasets, "problems", nil, "dataset names (math500, gsm8k, …) or problem files the reasoner knows; repeatable")
	f.StringVar(&problems.Dir, "datasets-dir", "", "folder of the named datasets (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	f.StringVar(&dialect, "dialect", string(sim.DialectVLLM), "wire format: vllm (current), vllm-0.9, sglang, llamacpp or tgi")
	f.StringVar(&cfg.Model, "model", cfg.Model, "served model name")
	f.IntVar(&cfg.MaxNumSeqs, "max-num-seqs", cfg.MaxNumSeqs, "largest running batch")
	f.IntVar(&cfg.KVCacheTokens, "kv-cache-tokens", cfg.KVCacheTokens, "KV-cache capacity in tokens")
	f.IntVar(&cfg.MaxModelLen, "max-model-len", cfg.MaxModelLen, "context length in tokens")
	f.IntVar(&cfg.MaxWaiting, "max-waiting", 0, "503 when this many requests wait (0: no bound)")
	f.Float64Var(&cfg.Speedup, "speedup", cfg.Speedup, "run this many times faster than the simulated GPU")
	f.Float64Var(&cfg.SlowDown, "slow-down", cfg.SlowDown, "multiply every step by this (>= 1; also POST /sim/knobs)")
	f.DurationVar(&cfg.StepBase, "step-base", cfg.StepBase, "decode step time at batch 0")
	f.DurationVar(&cfg.StepPerSeq, "step-per-seq", cfg.StepPerSeq, "extra decode step time per running sequence")
	f.DurationVar(&cfg.PrefillPerToken, "prefill-per-token", cfg.PrefillPerToken, "prefill time per uncached prompt token")
	f.Float64Var(&cfg.Reasoner.Accuracy, "accuracy", cfg.Reasoner.Accuracy, "probability that the answer without tools is right")
	f.Float64Var(&cfg.Reasoner.WaitRate, "wait-rate", cfg.Reasoner.WaitRate, "probability that a sentence starts with \"Wait,\"")
	f.Float64Var(&cfg.Reasoner.AltRate, "alt-rate", cfg.Reasoner.AltRate, "probability that a sentence starts with \"Alternatively,\"")
	f.IntVar(&cfg.Reasoner.ReasoningTokens, "reasoning-tokens", cfg.Reasoner.ReasoningTokens, "mean length of the first stretch of reasoning")
	f.Float64Var(&cfg.Reasoner.BuggyCodeRate, "buggy-code-rate", 0, "probability that code for a code problem is buggy")
	f.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "probability of a 500 per request")
	f.Float64Var(&cfg.Faults.DropRate, "drop-rate", 0, "probability that a request's connection drops mid-output")
	f.Float64Var(&cfg.Faults.SpikeRate, "spike-rate", 0, "probability that a step is delayed by --spike")
	f.DurationVar(&cfg.Faults.SpikeDuration, "spike", 0, "latency spike per affected step (simulated time)")
	f.Uint64Var(&cfg.FaultSeed, "fault-seed", 0, "seed of the fault draws")
	return cmd
}
