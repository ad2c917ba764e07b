package main

import (
	"fmt"
	"log/slog"
	"time"

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
	var (
		listen, hostname string
		simulate         int
		interval         time.Duration
		requireGPU       bool
	)
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve /metrics with the series dcgm-exporter names (DCGM_FI_DEV_GPU_UTIL, …)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, err := gpu.Open(ctx, gpu.Options{Simulate: simulate, RequireGPU: requireGPU, Logger: gpuLogger(cmd)})
			if err != nil {
				return fmt.Errorf("gpu exporter: %w", err)
			}
			defer src.Close()
			opts := []gpu.Option{gpu.WithInterval(interval)}
			if hostname != "" {
				opts = append(opts, gpu.WithHostname(hostname))
			}
			coll, err := gpu.NewCollector(src, opts...)
			if err != nil {
				return fmt.Errorf("gpu exporter: %w", err)
			}
			exp, err := gpu.NewExporter(coll)
			if err != nil {
				return fmt.Errorf("gpu exporter: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving GPU metrics on http://%s/metrics (simulated: %v)\n", listen, src.Simulated())
			if err := exp.ListenAndServe(ctx, listen); err != nil {
				return fmt.Errorf("gpu exporter: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":9400", "address to serve /metrics on (dcgm-exporter's port)")
	f.IntVar(&simulate, "simulate", 0, "simulate this many GPUs instead of reading NVML")
	f.DurationVar(&interval, "interval", gpu.DefaultPollInterval, "poll interval")
	f.StringVar(&hostname, "hostname", "", "Hostname label (default: os.Hostname; in Kubernetes pass the node name)")
	f.BoolVar(&requireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or GPU is found, instead of serving no series")
	return cmd
}

func newGPUListCmd() *cobra.Command {
	var (
		simulate   int
		jsonOut    bool
		requireGPU bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List this machine's GPUs (\"no GPUs found\" and exit 0 where there are none)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// The reason there are no GPUs is printed below, not logged.
			src, err := gpu.Open(ctx, gpu.Options{Simulate: simulate, RequireGPU: requireGPU})
			if err != nil {
				return fmt.Errorf("gpu list: %w", err)
			}
			defer src.Close()
			out := cmd.OutOrStdout()
			if !jsonOut {
				if why := src.Missing(); why != nil {
					_, err := fmt.Fprintf(out, "no GPUs found (%v)\n", why)
					return err
				}
				return gpu.ListDevices(ctx, out, src, gpu.DefaultThresholds())
			}
			devs, err := src.Snapshot(ctx)
			if err != nil {
				return fmt.Errorf("gpu list: %w", err)
			}
			if devs == nil {
				devs = []gpu.Device{}
			}
			if err := printJSON(out, devs); err != nil {
				return fmt.Errorf("gpu list: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&simulate, "simulate", 0, "simulate this many GPUs instead of reading NVML")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.Flags().BoolVar(&requireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or GPU is found")
	return cmd
}

// gpuLogger is where the gpu commands say why there are no GPUs (once, at
// warning level) and report XID events.
func gpuLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}
