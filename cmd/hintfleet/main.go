// Command hintfleet is the one binary of hintfleet: the simulated engine, the
// dataset tools, tool plugins, Hint-infer and the fleet. It only wires
// packages together; the logic lives in them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hintfleet:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hintfleet",
		Short:         "Run START's Hint-infer, Hint-RFT and RFT on a fleet of GPU nodes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newSimEngineCmd(),
		newDatasetsCmd(),
		newPluginsCmd(),
		newInferCmd(),
		newTopCmd(), newGPUCmd(),
		newSummaryCmd(),
		newGradeCmd(),
		newCurateCmd(),
		newRFTCmd(),
		newReportCmd(),
		newUpCmd(),
		newCoordinatorCmd(),
		newWorkerCmd(),
		newSubmitCmd(),
		newStatusCmd(),
		newJobsCmd(),
		newCancelCmd(),
	)
	return root
}
