package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/gpu"
)

// newGPUCmd groups the node-side GPU commands: a dcgm-exporter stand-in
// and a device list.
func newGPUCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gpu",
		Short: "GPU telemetry: serve dcgm-named metrics, list devices (real via NVML, or simulated)",
	}
	cmd.AddCommand(newGPUExporterCmd(), newGPUListCmd())
	return cmd
}

func newGPUExporterCmd() *cobra.Command {
	var cfg gpu.ExporterConfig
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve /metrics with the series dcgm-exporter names (DCGM_FI_DEV_GPU_UTIL, …)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Why there are no GPUs is said once, at warning level; XID
			// events are logged too.
			cfg.Options.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			if err := gpu.Export(cmd.Context(), cfg, cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("gpu exporter: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", ":9400", "address to serve /metrics on (dcgm-exporter's port)")
	f.IntVar(&cfg.Options.Simulate, flagSimulateGPUs, 0, "simulate this many GPUs instead of reading NVML")
	deprecatedAlias(cmd, "simulate", flagSimulateGPUs)
	f.DurationVar(&cfg.Interval, "interval", gpu.DefaultPollInterval, "poll interval")
	f.StringVar(&cfg.Hostname, "hostname", "", "Hostname label (default: os.Hostname; in Kubernetes pass the node name)")
	f.BoolVar(&cfg.Options.RequireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or GPU is found, instead of serving no series")
	return cmd
}

func newGPUListCmd() *cobra.Command {
	var (
		opts    gpu.Options // the reason there are no GPUs is printed, not logged
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List this machine's GPUs (\"no GPUs found\" and exit 0 where there are none)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := gpu.List(cmd.Context(), opts, cmd.OutOrStdout(), jsonOut); err != nil {
				return fmt.Errorf("gpu list: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Simulate, flagSimulateGPUs, 0, "simulate this many GPUs instead of reading NVML")
	deprecatedAlias(cmd, "simulate", flagSimulateGPUs)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.Flags().BoolVar(&opts.RequireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or GPU is found")
	return cmd
}
