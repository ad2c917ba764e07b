package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/top"
)

// newTopCmd shows the fleet: workers, GPUs, jobs and dead letters, from
// the coordinator's HTTP API.
func newTopCmd() *cobra.Command {
	var (
		af       apiFlags
		interval time.Duration
		once     bool
	)
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Watch the fleet: workers, GPU utilization/memory/temperature, job progress, tokens/s, dead letters",
		Long: "top refreshes a terminal view of the fleet from the coordinator's API (GET /v1/jobs and\n" +
			"/v1/workers) and each worker's dcgm-named /metrics. q quits. --once, or a stdout or\n" +
			"stdin that is no terminal, prints one plain snapshot and exits; --json prints it as JSON.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hc, api, err := af.c.ScopedHTTPClient(top.DefaultTimeout)
			if err != nil {
				return err
			}
			src, err := top.NewHTTPSource(api, hc)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			out, isFile := cmd.OutOrStdout().(*os.File)
			tty := isFile && isTerminal(out) && isTerminal(os.Stdin)
			if once || af.jsonOut || !tty {
				sctx, cancel := context.WithTimeout(ctx, top.DefaultTimeout)
				defer cancel()
				snap, err := src.Snapshot(sctx)
				if err != nil {
					return err
				}
				return write(cmd.OutOrStdout(), af.jsonOut, snap, func(w io.Writer) error { return top.WritePlain(w, snap, nil) })
			}
			return top.Run(ctx, src, top.UIOptions{Interval: interval, In: cmd.InOrStdin(), Out: cmd.OutOrStdout()})
		},
	}
	f := cmd.Flags()
	af.register(cmd)
	f.DurationVar(&interval, "interval", top.DefaultInterval, "refresh interval")
	f.BoolVar(&once, "once", false, "print one plain snapshot and exit (the default without a terminal)")
	return cmd
}
