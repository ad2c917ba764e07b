package main

import (
	"context"
	"fmt"
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
			"/v1/workers) and each worker's dcgm-named /metrics. q quits. --once prints one plain\n" +
			"snapshot and exits (no terminal needed).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			found, token, err := af.resolve()
			if err != nil {
				return err
			}
			api := found.API
			hc, err := apiHTTPClient(af.ca, af.cert, af.key)
			if err != nil {
				return err
			}
			hc.Timeout = top.DefaultTimeout
			if token != "" {
				// The token goes to the coordinator only, never to the
				// workers whose /metrics top also reads.
				hc.Transport, err = bearerFor(api, token, hc.Transport)
				if err != nil {
					return err
				}
			}
			src, err := top.NewHTTPSource(api, hc)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if once {
				sctx, cancel := context.WithTimeout(ctx, top.DefaultTimeout)
				defer cancel()
				snap, err := src.Snapshot(sctx)
				if err != nil {
					return fmt.Errorf("top: %w", err)
				}
				return top.WritePlain(cmd.OutOrStdout(), snap, nil)
			}
			return top.Run(ctx, src, top.UIOptions{Interval: interval, In: cmd.InOrStdin(), Out: cmd.OutOrStdout()})
		},
	}
	f := cmd.Flags()
	af.registerConn(cmd)
	f.DurationVar(&interval, "interval", top.DefaultInterval, "refresh interval")
	f.BoolVar(&once, "once", false, "print one plain snapshot and exit")
	return cmd
}
